/*
 * fuzz_exec_doc.c - the document an exec program prints
 * (provider/modules/exec_doc.c): outside input, as the program is not
 * trusted.  The first byte picks the longest token accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modules/exec_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t token_maxes[] = { 4096, 1, 16, 65536 };
	size_t token_max = 4096, i;
	struct exec_doc d;
	enum exec_doc_kind k;

	if (size >= 1) {
		token_max = token_maxes[data[0] % 4];
		data++;
		size--;
	}
	k = exec_doc_parse((const char *)data, size, 1700000000, token_max,
	    &d);
	if (k != d.kind)
		abort();
	/* The contract: a token that fits, of printable ASCII, no blanks;
	 * no token otherwise; a message that is a short C string. */
	if (k == EXEC_DOC_TOKEN) {
		if (d.token == NULL || d.token_len == 0 ||
		    d.token_len > token_max ||
		    strlen(d.token) != d.token_len || d.expires_in < 0)
			abort();
		for (i = 0; i < d.token_len; i++)
			if ((unsigned char)d.token[i] <= 0x20 ||
			    (unsigned char)d.token[i] >= 0x7f)
				abort();
	} else {
		if (d.token != NULL || memchr(d.message, '\0',
		    sizeof(d.message)) == NULL || d.message[0] == '\0')
			abort();
		for (i = 0; d.message[i] != '\0'; i++)
			if ((unsigned char)d.message[i] < 0x20 ||
			    (unsigned char)d.message[i] >= 0x7f)
				abort();
	}
	exec_doc_clear(&d);
	return 0;
}
