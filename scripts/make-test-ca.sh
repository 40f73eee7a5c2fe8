#!/usr/bin/env bash
# Makes a throwaway certificate authority for the loopback TLS tests and `failover
# fleet`: an EC P-256 CA (ca.pem, ca.key), a server certificate for DNS:localhost,
# IP:127.0.0.1 and IP:::1 (server.pem, server.key), and one for DNS:wrong.example only
# (wrong-host.pem, wrong-host.key) that a client verifying the host name must refuse.
# Both are signed by the CA and valid for 2 days. Quiet on success; on any failure it
# prints openssl's output and exits non-zero. Never use these keys for anything else.
set -euo pipefail

[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: scripts/make-test-ca.sh OUTDIR" >&2; exit 2; }
out=$1
command -v openssl >/dev/null || { echo "make-test-ca.sh: openssl not found in PATH" >&2; exit 2; }
mkdir -p "$out"
cd "$out"

log=$(mktemp)
trap 'rm -f "$log" ./*.csr ./*.ext ./*.srl' EXIT

run() {
  if ! "$@" >"$log" 2>&1; then
    echo "make-test-ca.sh: failed: $*" >&2
    cat "$log" >&2
    exit 1
  fi
}

days=2
umask 077

# The CA: self-signed, CA:TRUE, may sign certificates only.
run openssl ecparam -name prime256v1 -genkey -noout -out ca.key
cat >ca.ext <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = failover test CA
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
run openssl req -x509 -new -key ca.key -sha256 -days "$days" -config ca.ext -extensions v3_ca -out ca.pem

# issue NAME CN SAN: a P-256 key and a serverAuth leaf signed by the CA.
issue() {
  local name=$1 cn=$2 san=$3
  run openssl ecparam -name prime256v1 -genkey -noout -out "$name.key"
  run openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
  cat >"$name.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  run openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile "$name.ext" -out "$name.pem"
  run openssl verify -CAfile ca.pem -purpose sslserver "$name.pem"
}

issue server localhost "DNS:localhost, IP:127.0.0.1, IP:::1"
issue wrong-host wrong.example "DNS:wrong.example"
chmod 644 ca.pem server.pem wrong-host.pem
