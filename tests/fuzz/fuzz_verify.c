/*
 * fuzz_verify.c - `tokencachectl verify`'s checks on arbitrary bytes: the
 * file it reads is outside input (anyone who can write the runtime
 * directory's copy, or a damaged disk).  Also compares the image with
 * itself, which must find no difference when its header is good.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "../../tools/ctl_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t boot[16] = { 1 };
	struct ctl_vopts o;
	struct ctl_vresult r, cmp;
	unsigned char *base;
	size_t i;

	/* An aligned private copy stands in for the file read. */
	if ((base = aligned_alloc(64, (size + 64) & ~(size_t)63)) == NULL)
		abort();
	if (size > 0)
		memcpy(base, data, size);
	memset(&o, 0, sizeof(o));
	o.boot_id = (size & 1) ? boot : NULL;
	o.now_wall = 1700000000;
	o.now_boot_ns = INT64_C(1000000000000);
	o.seq_tries = 1;
	if (ctl_verify_segment(base, size, &o, &r) != 0)
		abort();	/* inputs are small: no memory shortage */
	for (i = 0; i < r.nfindings; i++)
		if (memchr(r.findings[i].text, 0, CTL_V_TEXT) == NULL)
			abort();
	if (r.nnames > r.nused)
		abort();
	memset(&cmp, 0, sizeof(cmp));
	if (r.header_ok) {
		if (ctl_verify_compare(&r, &r, &cmp) != 0 || cmp.nproblems != 0)
			abort();
	}
	ctl_vresult_free(&cmp);
	ctl_vresult_free(&r);
	free(base);
	return 0;
}
