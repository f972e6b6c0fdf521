/*
 * seg_key.c - deriving the per-credential slot keys from the master key
 * (daemon only; see seg_key.h).
 */
#include <sodium.h>

#include "seg_key.h"

void
seg_derive_key(unsigned char out[SEG_KEY_BYTES],
    const unsigned char master[SEG_KEY_BYTES], uint64_t epoch,
    const char *name, size_t len)
{
	crypto_generichash_state st;
	unsigned char ep[8];

	/*
	 * crypto_kdf wants a 64-bit subkey id; our subkeys are named by
	 * strings, so use the same primitive (keyed BLAKE2b) over a context
	 * label, the epoch and the name.  A subkey reveals nothing about the
	 * master key or its siblings.
	 */
	seg_put_le64(ep, epoch);
	crypto_generichash_init(&st, master, SEG_KEY_BYTES, SEG_KEY_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)"tokencache-slot-key-v1", 22);
	crypto_generichash_update(&st, ep, sizeof(ep));
	crypto_generichash_update(&st, (const unsigned char *)name, len);
	crypto_generichash_final(&st, out, SEG_KEY_BYTES);
	sodium_memzero(&st, sizeof(st));
}
