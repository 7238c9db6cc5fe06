#!/usr/bin/env bash
# Makes a CA and a short-lived serving certificate for the webhook, then prints the caBundle or patches it into the
# MutatingWebhookConfiguration and stores the pair in the webhook's TLS Secret.
#
#   certs/make-certs.sh [--out DIR] [--days N] [--service NAME] [--namespace NS] [--ip ADDR]... [--apply]
#
# --apply needs kubectl pointed at the cluster. Re-running rotates: the new CA is appended to the previous bundle
# (kept while still valid) so API servers trust both during the rollover.
set -euo pipefail

OUT="certs/out"; DAYS=1; CA_DAYS=7; SERVICE="sidecars-webhook"; NAMESPACE="sidecars-system"
WEBHOOK_CONFIG="sidecars-webhook"; SECRET="sidecars-webhook-tls"; APPLY=0; IPS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --days) DAYS="$2"; shift 2 ;;
    --ca-days) CA_DAYS="$2"; shift 2 ;;
    --service) SERVICE="$2"; shift 2 ;;
    --namespace) NAMESPACE="$2"; shift 2 ;;
    --ip) IPS+=("$2"); shift 2 ;;
    --apply) APPLY=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

command -v openssl >/dev/null || { echo "openssl is required" >&2; exit 1; }
mkdir -p "$OUT"; chmod 700 "$OUT"
umask 077

ca_valid() { [ -f "$OUT/ca.crt" ] && openssl x509 -checkend $((2 * 86400)) -noout -in "$OUT/ca.crt" >/dev/null 2>&1; }

if ! ca_valid; then
  [ -f "$OUT/ca.crt" ] && cp "$OUT/ca.crt" "$OUT/ca.previous.crt"
  openssl ecparam -name prime256v1 -genkey -noout -out "$OUT/ca.key"
  openssl req -x509 -new -key "$OUT/ca.key" -sha256 -days "$CA_DAYS" -subj "/CN=sidecars-webhook-ca" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$OUT/ca.crt"
  echo "new CA, valid $CA_DAYS days" >&2
fi

SAN="DNS:$SERVICE,DNS:$SERVICE.$NAMESPACE,DNS:$SERVICE.$NAMESPACE.svc,DNS:$SERVICE.$NAMESPACE.svc.cluster.local"
for ip in "${IPS[@]}"; do SAN="$SAN,IP:$ip"; done
openssl ecparam -name prime256v1 -genkey -noout -out "$OUT/tls.key.new"
openssl req -new -key "$OUT/tls.key.new" -subj "/CN=$SERVICE.$NAMESPACE.svc" -out "$OUT/tls.csr"
printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$SAN" > "$OUT/tls.ext"
openssl x509 -req -in "$OUT/tls.csr" -CA "$OUT/ca.crt" -CAkey "$OUT/ca.key" -CAcreateserial -sha256 -days "$DAYS" \
  -extfile "$OUT/tls.ext" -out "$OUT/tls.crt.new" 2>/dev/null
# Replace key then certificate, each atomically, so a running webhook never pairs a new certificate with an old key.
mv "$OUT/tls.key.new" "$OUT/tls.key"; mv "$OUT/tls.crt.new" "$OUT/tls.crt"
rm -f "$OUT/tls.csr" "$OUT/tls.ext"

# Bundle: the current CA plus a previous one that has not expired.
cp "$OUT/ca.crt" "$OUT/ca-bundle.crt"
if [ -f "$OUT/ca.previous.crt" ] && openssl x509 -checkend 0 -noout -in "$OUT/ca.previous.crt" >/dev/null 2>&1; then
  cat "$OUT/ca.previous.crt" >> "$OUT/ca-bundle.crt"
fi
BUNDLE=$(base64 -w0 < "$OUT/ca-bundle.crt")
echo "serving certificate valid $DAYS day(s): $(openssl x509 -enddate -noout -in "$OUT/tls.crt")" >&2

if [ "$APPLY" = 1 ]; then
  kubectl -n "$NAMESPACE" create secret tls "$SECRET" --cert="$OUT/tls.crt" --key="$OUT/tls.key" --dry-run=client -o yaml | kubectl apply -f -
  count=$(kubectl get mutatingwebhookconfiguration "$WEBHOOK_CONFIG" -o jsonpath='{range .webhooks[*]}x{end}' | wc -c)
  patch="["; for ((i = 0; i < count; i++)); do
    [ "$i" -gt 0 ] && patch="$patch,"
    patch="$patch{\"op\":\"replace\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$BUNDLE\"}"
  done; patch="$patch]"
  kubectl patch mutatingwebhookconfiguration "$WEBHOOK_CONFIG" --type=json -p "$patch"
else
  echo "$BUNDLE"
fi
