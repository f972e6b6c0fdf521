/*
 * exec_doc.h - the document an exec program prints on its standard output
 * (tokencache.conf(5), EXEC TOKEN SOURCE):
 *
 *   {"version": 1, "access_token": "...", "token_type": "Bearer",
 *    "expires_in": 3600}                     (or "expires_at": UNIX_SECONDS)
 *   {"version": 1, "error": "text", "permanent": false}
 *
 * The parser is its own and strict (RFC 8259: one object, UTF-8, no
 * trailing data) so that the module links nothing but libc and the token
 * passes through no allocator but ours, which wipes it.  It is apart from
 * exec.c so that the fuzz target and the unit tests reach it without
 * spawning anything.
 */
#ifndef TC_EXEC_DOC_H
#define TC_EXEC_DOC_H

#include <stddef.h>
#include <stdint.h>

/* The versions this parser knows, for the message about the others. */
#define EXEC_DOC_VERSION	1
#define EXEC_DOC_VERSIONS	"1"

/* What the document says, or what is wrong with it. */
enum exec_doc_kind {
	EXEC_DOC_TOKEN = 1,	/* token, token_type, expires_in set */
	EXEC_DOC_ERROR,		/* the program reports a failure: message */
	EXEC_DOC_BAD		/* not a document we can use: message */
};

#define EXEC_DOC_MSG_MAX	256
#define EXEC_DOC_TYPE_MAX	64

struct exec_doc {
	enum exec_doc_kind kind;
	/*
	 * EXEC_DOC_ERROR: the document's "permanent"; EXEC_DOC_BAD: the
	 * failure is one a retry cannot mend (an unknown version).
	 */
	int permanent;
	/* EXEC_DOC_TOKEN: malloc'd, NUL-terminated, printable ASCII
	 * without blanks, 1 to token_max bytes; wiped by exec_doc_clear(). */
	char *token;
	size_t token_len;
	char token_type[EXEC_DOC_TYPE_MAX + 1];	/* "" if absent */
	long expires_in;	/* seconds from now; 0: the document said not */
	/* EXEC_DOC_ERROR: the program's text, control bytes and non-ASCII
	 * masked, cut short; EXEC_DOC_BAD: what is wrong, in words.  Never
	 * any part of the token. */
	char message[EXEC_DOC_MSG_MAX];
};

/*
 * Parse buf[0..len), the program's whole standard output, with now the
 * wall clock in Unix seconds (for expires_at) and token_max the longest
 * token accepted.  Always fills *doc; the caller calls exec_doc_clear().
 * Returns doc->kind.
 */
enum exec_doc_kind exec_doc_parse(const char *buf, size_t len, int64_t now,
    size_t token_max, struct exec_doc *doc);

/* Wipe and free the token; NULL-safe, idempotent. */
void exec_doc_clear(struct exec_doc *doc);

/*
 * Copy at most max bytes of src[0..len) to dst (size dstsz), stopping at
 * the first line end, with every byte outside printable ASCII made '?';
 * "..." marks a cut.  For text from the program: its stderr, its error.
 */
void exec_doc_masked(char *dst, size_t dstsz, const char *src, size_t len,
    size_t max);

#endif /* TC_EXEC_DOC_H */
