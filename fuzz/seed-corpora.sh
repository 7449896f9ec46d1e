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
echo "seeded: $(ls corpus/statd_request | wc -l) request-path inputs, $(ls corpus/mdstat | wc -l) mdstat inputs"
# sihmon: a stream of sacmsgs (write size byte first; native-endian x86-64),
# and tables cut at NUL bytes (pmtab, hdlclabs, hdlcdefs, ttydefs).
mkdir -p corpus/saf_msg corpus/sih_tables
printf '\x07\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00' > corpus/saf_msg/status-readdb-unknown
printf '\x00\x03\x00\x00\x00\x04\x00\x00\x00abc\x00\x00\x00\x00\x02\x00\x00\x00' > corpus/saf_msg/data-then-enable
printf 'l1::root::::/dev/adm1:o:9600:sw8:/usr/lib/saf/xbload /dev/sih/01#c\nl2:x:root::::adm2:l:::"a b" c\\:d\n\0sw8:sw8:9600\n\0sw8:3:7:1000:10:2048\n\0009600:9600:9600 cs8 cread hupcl::9600\n' > corpus/sih_tables/usual
echo "seeded: $(ls corpus/saf_msg | wc -l) saf_msg inputs, $(ls corpus/sih_tables | wc -l) sih_tables inputs"
# ltid protocol frames (first byte: the chunk size the target cuts them into).
mkdir -p corpus/ltid_wire
printf '\x40\x00\x00\x00\x09\x01\x34\x00\x05hostb' > corpus/ltid_wire/start_oprd
printf '\x01\x00\x00\x00\x02\x01\x35' > corpus/ltid_wire/query_host
printf '\x03\x00\x00\x00\x06\x01\x3c\x00\x00\x17\x8f\x00\x00\x00\x02\x01\x3d' > corpus/ltid_wire/initiating_continue
printf '\x40\x00\x00\x00\x19\x01\x36\x00\x01b\x00\x00\x00\x00\x00\x00\x00\x14\x00\x00\x00\x05\x00\x01\x00\x01d\x01\x01\x00' > corpus/ltid_wire/host_info
printf '\x40\x00\x00\x00\x06\x01\x4a\x02\x00\x01d' > corpus/ltid_wire/operate_down
echo "seeded: $(ls corpus/ltid_wire | wc -l) ltid_wire inputs"
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
echo "seeded: $(ls corpus/vold_request | wc -l) vold inputs"
