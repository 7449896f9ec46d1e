#!/usr/bin/env bash
# Seeds the fuzz corpora from the golden vectors (compat/vectors/statd): each
# captured request becomes an input of the request-path target (with a
# leading byte choosing the caller: 0 = 127.0.0.1 reserved port, 1 = unreserved),
# of the record reader (TCP ones, framed) and of the XDR target (its arguments).
# The /proc/mdstat fixtures (compat/fixtures/mdstat) seed the mdstat target.
# Run from anywhere; writes fuzz/corpus/<target>/<vector name>.
set -euo pipefail
cd "$(dirname "$0")"
vectors=../compat/vectors/statd
for t in statd_request rpc_server xdr_nsm record_reader; do mkdir -p "corpus/$t"; done
for f in "$vectors"/*.txt; do
    name=$(basename "$f" .txt)
    hex=$(awk '/^request:/{on=1; next} /^[a-z]+:/{on=0} on && /^ +[0-9a-f]+:/{ $1=""; print }' "$f" | tr -d ' \n')
    [ -n "$hex" ] || continue
    # Framed TCP requests carry a record mark already; take the bytes as they are.
    printf '%s' "$hex" | xxd -r -p > "corpus/rpc_server/$name"
    { printf '\x01'; printf '%s' "$hex" | xxd -r -p; } > "corpus/statd_request/$name"
    { printf '\x00'; printf '%s' "$hex" | xxd -r -p; } > "corpus/statd_request/$name-reserved"
    # The arguments start after the 40-byte header of an AUTH_NONE call.
    printf '%s' "$hex" | xxd -r -p | tail -c +41 > "corpus/xdr_nsm/$name"
    if grep -q '^transport: tcp' "$f"; then
        printf '%s' "$hex" | xxd -r -p > "corpus/record_reader/$name"
    fi
done
mkdir -p corpus/mdstat
cp ../compat/fixtures/mdstat/*.mdstat corpus/mdstat/
# vold: one packet a seed (u16 LE length, then the message), first byte 0xff
# (diagnostic rendezvous) or 0x00 (request).
mkdir -p corpus/vold_request
byte() { printf "\\x$(printf %02x "$1")"; }
vold_seed() { # PORTALS OPCODE NAME BODY
    local len=$((8 + ${#4}))
    { byte "$1"; byte $((len & 255)); byte $((len >> 8))
      byte 1; byte 0; byte "$2"; byte 0; byte 7; byte 0; byte 0; byte 0
      printf '%s' "$4"; } > "corpus/vold_request/$3"
}
vold_seed 255 1 hello voladm
vold_seed 255 20 db_list ''
vold_seed 0 2 get 'vol'
vold_seed 0 3 begin 0123456789abcdef0123456789abcdef
vold_seed 0 4 op "$(printf 'create\nvol v1 len=8\n')"
echo "seeded: $(ls corpus/statd_request | wc -l) request-path inputs, $(ls corpus/mdstat | wc -l) mdstat inputs, $(ls corpus/vold_request | wc -l) vold inputs"
