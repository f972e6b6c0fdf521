/*
 * seg_key.h - the per-credential keys the daemon seals slots with (daemon
 * only: readers receive their keys over the control socket, so the
 * library does not carry this).
 */
#ifndef TC_SEG_KEY_H
#define TC_SEG_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "seg.h"

/* Per-credential key: keyed BLAKE2b of (epoch, name) under the master key. */
void seg_derive_key(unsigned char out[SEG_KEY_BYTES],
    const unsigned char master[SEG_KEY_BYTES], uint64_t epoch,
    const char *name, size_t len);

#endif /* TC_SEG_KEY_H */
