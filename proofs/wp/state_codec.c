/* SPDX-License-Identifier: MIT */
/*
 * WP: virtq_state_decode() reads at most the `len` bytes it is given.
 *
 * The contracts of src/state_codec.c's functions, on declarations after the
 * source is included (its two loops carry their invariants in place).
 * The decoder reads the number of heads twice, once to check the length and
 * once to decode them: the contracts say both readings are the same function
 * of the same bytes (heads_announced), so the heads loop stays inside the
 * length check_framing() accepted.
 */
#include "../../src/state_codec.c"

/* le_prefix (the value of n little-endian bytes) is defined in the source,
 * next to the loop whose invariant uses it. */

/*@
  logic integer heads_announced{L}(unsigned char *b) =
    (uint32_t)le_prefix(b + 20, 4) +
    (uint16_t)((uint16_t)le_prefix(b + 58, 2) - (uint16_t)le_prefix(b + 60, 2));
*/

/*@ requires 1 <= bytes <= 8;
    requires \valid_read(p + (0 .. bytes - 1));
    assigns \nothing;
    ensures \result == le_prefix(p, bytes); */
static uint64_t get_le(const unsigned char *p, unsigned bytes);

/*@ requires \valid_read(p + (0 .. 1));
    assigns \nothing;
    ensures \result == (uint16_t)le_prefix(p, 2); */
static uint16_t get16(const unsigned char *p);

/*@ requires \valid_read(p + (0 .. 3));
    assigns \nothing;
    ensures \result == (uint32_t)le_prefix(p, 4); */
static uint32_t get32(const unsigned char *p);

/*@ requires \valid_read(p + (0 .. 7));
    assigns \nothing; */
static uint64_t get64(const unsigned char *p);

/*@ requires \valid_read(b + (0 .. 63));
    assigns \nothing;
    ensures \result == heads_announced(b); */
static uint64_t announced_heads(const unsigned char *b);

/*@ requires len >= 8;
    requires fixed == 68 || fixed == 76;
    requires \valid_read(b + (0 .. len - 1));
    assigns \nothing;
    ensures \result == 0 ==> len == fixed + 2 * heads_announced(b); */
static int check_heads_length(const unsigned char *b, size_t len, uint16_t fixed);

/*@ assigns \nothing;
    ensures \result <==> (active && ((features >> 34) & 1) != 0); */
static bool packed_active(bool active, uint64_t features);

/*@ requires \valid_read(b + (0 .. len - 1));
    requires \initialized(b + (0 .. len - 1));
    assigns \nothing;
    ensures \result < 0 || \result == 1 || \result == 2 || \result == 3;
    ensures \result == 1 ==> len == 64;
    ensures \result == 2 ==> len == 68 + 2 * heads_announced(b);
    ensures \result == 3 ==> len == 76 + 2 * heads_announced(b); */
static int check_framing(const unsigned char *b, size_t len);

/*@ requires \valid_read(b + (0 .. 63));
    requires \valid(s);
    requires \separated(s, b + (0 .. 63));
    assigns *s; */
static void decode_fixed(const unsigned char *b, struct virtq_state *s);

/*@ requires version == 1 || version == 2 || version == 3;
    requires version == 1 ==> \valid_read(b + (0 .. 63));
    requires version == 2 ==> \valid_read(b + (0 .. 67 + 2 * heads_announced(b)));
    requires version == 3 ==> \valid_read(b + (0 .. 75 + 2 * heads_announced(b)));
    requires \valid(s);
    requires \separated(s, b + (0 .. 75 + 2 * heads_announced(b)));
    assigns *s; */
static int decode_fields(const unsigned char *b, int version, struct virtq_state *s);

/* Defined in state.c (analysed by Eva): reads *s only. */
/*@ requires \valid_read(s);
    assigns \nothing; */
int virtq_state_check(const struct virtq_state *s);

/*@ requires \valid(s);
    requires \valid_read((unsigned char *)buf + (0 .. len - 1));
    requires \initialized((unsigned char *)buf + (0 .. len - 1));
    requires \separated(s, (unsigned char *)buf + (0 .. len - 1));
    assigns *s; */
int virtq_state_decode(struct virtq_state *s, const void *buf, size_t len);
