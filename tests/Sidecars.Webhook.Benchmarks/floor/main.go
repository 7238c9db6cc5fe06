// The floor the Sidecars webhook is measured against: a Go net/http admission endpoint over HTTPS that parses the
// AdmissionReview and answers, without deciding anything, with a response given to it in advance.
//
//	floor -addr 127.0.0.1:8443 -cert tls.crt -key tls.key -response patched.json -injected-response unchanged.json
//	floor -addr 127.0.0.1:8443 -cert tls.crt -key tls.key            (no -response: the plain no-op, allowed without a patch)
//
// The response files are AdmissionReview responses whose uid is the placeholder below; the benchmark takes them from
// the Sidecars webhook itself for the very review it offers, so that both sides return the same bytes. A pod that
// already carries the injected marker annotation gets -injected-response, as the real webhook answers a reinvocation.
// Standard library only, so it builds offline.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
)

const uidPlaceholder = "00000000-0000-0000-0000-floorfloor00"
const injectedMarker = "sidecars.io/injected"
const maxBody = 3 << 20

type review struct {
	Request struct {
		UID    string `json:"uid"`
		Object struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		} `json:"object"`
	} `json:"request"`
}

// template is a response split around its uid placeholder.
type template struct{ head, tail []byte }

func load(path string) (*template, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	i := bytes.Index(data, []byte(uidPlaceholder))
	if i < 0 {
		return nil, fmt.Errorf("%s: no uid placeholder %q", path, uidPlaceholder)
	}
	return &template{head: data[:i], tail: data[i+len(uidPlaceholder):]}, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	cert := flag.String("cert", "", "serving certificate (PEM)")
	key := flag.String("key", "", "serving key (PEM)")
	responsePath := flag.String("response", "", "response for a pod without the injected marker; none: allowed, no patch")
	injectedPath := flag.String("injected-response", "", "response for a pod with the injected marker; none: allowed, no patch")
	flag.Parse()
	patched, err := load(*responsePath)
	if err != nil {
		log.Fatal(err)
	}
	injected, err := load(*injectedPath)
	if err != nil {
		log.Fatal(err)
	}

	http.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var in review
		if err := json.Unmarshal(body, &in); err != nil || in.Request.UID == "" {
			http.Error(w, "malformed-review", http.StatusBadRequest)
			return
		}
		answer := patched
		if _, ok := in.Request.Object.Metadata.Annotations[injectedMarker]; ok {
			answer = injected
		}
		w.Header().Set("Content-Type", "application/json")
		if answer == nil {
			fmt.Fprintf(w, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":%q,"allowed":true}}`, in.Request.UID)
			return
		}
		out := make([]byte, 0, len(answer.head)+len(in.Request.UID)+len(answer.tail))
		out = append(append(append(out, answer.head...), in.Request.UID...), answer.tail...)
		w.Write(out)
	})
	log.Fatal(http.ListenAndServeTLS(*addr, *cert, *key, nil))
}
