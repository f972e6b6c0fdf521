/*
 * stats.h - what the daemon counts for tokencachectl metrics and status
 * (stats.c): a credential's fetch attempts (by outcome, a latency
 * histogram, the last ones in a ring), its readers' key requests; and the
 * Prometheus text format's writing rules, which stats_doc.c follows.
 * Counters only ever grow while the daemon runs; a credential that stays
 * across a reload keeps its own (they live in struct cred).
 */
#ifndef TC_STATS_H
#define TC_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "seg.h"

/* An attempt's outcome as counted: rate_limited is a failure that came
 * with HTTP 429 or a Retry-After, whatever its judgement; the others are
 * enum tok_outcome's. */
enum stats_outcome {
	ST_OK = 0,
	ST_TRANSIENT,
	ST_PERMANENT,
	ST_RATE_LIMITED,
	ST_COUNT
};

/* The histogram's upper bounds, seconds, finite ones; +Inf follows. */
#define STATS_BUCKETS 10
extern const double stats_bucket_le[STATS_BUCKETS];

#define STATS_RING 8       /* attempts kept */

struct stats_attempt {
	int64_t at;              /* wall time, Unix seconds, when it ended */
	enum stats_outcome outcome;
	long http_status;        /* 0: none */
	uint32_t latency_ms;     /* sent to ended */
	char error[SEG_SLOT_ERROR]; /* "" for ST_OK */
	size_t error_code_at;    /* see struct tok_result */
	size_t error_code_len;
};

struct cred_stats {
	uint64_t requests[ST_COUNT];
	uint64_t buckets[STATS_BUCKETS + 1]; /* each bucket alone, +Inf last */
	uint64_t latency_count;
	double latency_sum;      /* seconds */
	int64_t last_success_at; /* wall time, 0: none */
	uint32_t consecutive_failures; /* attempts in a row that failed */
	struct stats_attempt ring[STATS_RING];
	unsigned int ring_len;   /* up to STATS_RING */
	unsigned int ring_next;  /* where the next one goes */
	struct stats_attempt last_failure; /* however old */
	int has_failure;
	uint64_t key_granted;    /* KEY and OPEN requests, by the verdict */
	uint64_t key_denied;
};

/*
 * Count an attempt that ended at wall time `wall` (Unix seconds),
 * latency_ns after it was sent (a negative one counts as 0): its outcome
 * (enum tok_outcome), HTTP status, Retry-After (seconds, 0: none) and, for
 * a failure, its error text (NULL: none), which holds at code_at an RFC
 * 6749 error code code_len bytes long (0: none), as struct tok_result's.
 */
void stats_attempt(struct cred_stats *s, int64_t wall, int tok_outcome,
    long http_status, long retry_after, int64_t latency_ns,
    const char *error, size_t code_at, size_t code_len);

/* The i-th attempt kept, oldest first (i < s->ring_len), else NULL. */
const struct stats_attempt *stats_attempt_at(const struct cred_stats *s,
    unsigned int i);

/* The latest failed attempt, however long ago, or NULL. */
const struct stats_attempt *stats_last_failure(const struct cred_stats *s);

/*
 * a's error split into its OAuth error code and error_description (RFC
 * 6749 §5.2), into code and desc (each NUL-terminated, "" for none); an
 * error that is no such reply's goes whole into code, desc "".
 */
void stats_error_split(const struct stats_attempt *a, char *code,
    size_t codelen, char *desc, size_t desclen);

/* The name of an outcome as a label value: "ok", "transient" ... */
const char *stats_outcome_name(enum stats_outcome o);

/*
 * The Prometheus text exposition format, version 0.0.4.
 *
 * prom_family writes a metric family's HELP and TYPE lines (type
 * "counter", "gauge", "histogram"...); help is escaped as the format
 * says (backslash, newline).  prom_sample writes one sample: name, then
 * the labels, nlabels pairs of name and value in labels[] (values escaped:
 * backslash, double quote, newline), then the value.  name and label
 * names must be valid (prom_name_valid): they are the program's own.
 */
void prom_family(FILE *fp, const char *name, const char *type,
    const char *help);
void prom_sample(FILE *fp, const char *name, const char *const *labels,
    size_t nlabels, double value);
void prom_escape_label(FILE *fp, const char *v);

/* 1 if s is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), or with
 * label set, a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not "__..."). */
int prom_name_valid(const char *s, int label);

#endif /* TC_STATS_H */
