/*
 * nsec.h - nanosecond clock arithmetic, shared by the daemon, the library
 * and tokencachectl (the segment's CLOCK_BOOTTIME deadlines, the daemon's
 * timers).
 */
#ifndef TC_NSEC_H
#define TC_NSEC_H

#include <stdint.h>

#define NS_PER_S  INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)

#endif /* TC_NSEC_H */
