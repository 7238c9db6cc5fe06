# Certificates and kubeconfigs of the real-node lane: one CA signs every serving and client certificate.
# Sourced by up.sh after lane.sh; writes into $PKI and $LANE once per lane start.
# shellcheck shell=bash

# issue <file> <common name> <organisation or -> <serverAuth|clientAuth|serverAuth,clientAuth> [subjectAltName]
issue() {
  local file="$1" cn="$2" org="$3" usage="$4" sans="${5:-}" subject
  subject="/CN=$cn"; [ "$org" = - ] || subject="/O=$org$subject"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
    -keyout "$PKI/$file.key" -out "$PKI/$file.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } > "$PKI/$file.ext"
  openssl x509 -req -in "$PKI/$file.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 30 -extfile "$PKI/$file.ext" -out "$PKI/$file.crt" 2>/dev/null
  rm -f "$PKI/$file.csr" "$PKI/$file.ext"
  chmod 0600 "$PKI/$file.key"
}

# kubeconfig <file> <client certificate name>: a kubeconfig for the apiserver on the bridge's host-side address.
kubeconfig() {
  cat > "$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: $NODE_NAME
  cluster:
    server: https://$HOST_IP:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: $NODE_NAME
  context: {cluster: $NODE_NAME, user: $2}
current-context: $NODE_NAME
YAML
  chmod 0600 "$1"
}

make_pki() {
  [ -f "$PKI/done" ] && return 0
  mkdir -p "$PKI"; chmod 0700 "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=$NODE_NAME-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
  chmod 0600 "$PKI/ca.key"
  issue apiserver kube-apiserver - serverAuth \
    "IP:$HOST_IP,IP:$KUBERNETES_SERVICE_IP,IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
  issue kubelet-serving "$NODE_NAME" - serverAuth "IP:$HOST_IP,DNS:$NODE_NAME"
  issue admin admin system:masters clientAuth
  issue apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  issue kubelet "system:node:$NODE_NAME" system:nodes clientAuth
  issue kube-proxy system:kube-proxy - clientAuth
  issue controller-manager system:kube-controller-manager - clientAuth
  issue scheduler system:kube-scheduler - clientAuth
  issue dns-sync "system:$NODE_NAME:dns-sync" - clientAuth
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 0600 "$PKI/sa.key"
  for who in admin kubelet kube-proxy controller-manager scheduler dns-sync; do
    kubeconfig "$LANE/kubeconfig-$who" "$who"
  done
  touch "$PKI/done"
}
