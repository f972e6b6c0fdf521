/*
 * stats_doc.h - the documents the control socket hands out as sealed
 * memfds (stats_doc.c): the Prometheus metrics (PROTO_OP_METRICS) and
 * every credential's status (PROTO_OP_STATUS).
 */
#ifndef TC_STATS_DOC_H
#define TC_STATS_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct daemon;

/* d's metrics in the Prometheus text exposition format (0.0.4) into fp:
 * what tokencached(8), METRICS, lists.  0, or -1 if fp failed. */
int stats_metrics_write(struct daemon *d, int64_t now, FILE *fp);

/*
 * Write the metrics to metrics_textfile for node_exporter's textfile
 * collector: into PATH.tmp.PID (created anew, mode 0644), renamed over
 * PATH, so that the collector reads a whole file or the one before.  A
 * failure is logged when it starts and when it ends, not at every turn.
 */
void stats_textfile(struct daemon *d, int64_t now);

/* The documents as sealed memfds (F_SEAL_SHRINK, GROW, WRITE, SEAL),
 * opened read-only where /proc allows: a descriptor to close, or -1. */
int stats_metrics_fd(struct daemon *d, int64_t now);
int stats_status_fd(struct daemon *d, int64_t now);

/* A sealed memfd named name holding len bytes of buf, as above; -1 with
 * errno set on failure. */
int stats_doc_memfd(const char *name, const char *buf, size_t len);

#endif /* TC_STATS_DOC_H */
