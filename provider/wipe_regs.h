/*
 * wipe_regs.h - leave no secret in a register.
 */
#ifndef TC_WIPE_REGS_H
#define TC_WIPE_REGS_H

/*
 * Zero the vector registers.  libc's memcpy and strlen move whatever they
 * copy through them, so that after a configuration load the last secret
 * copied can sit in a register, and so in the register notes of a core
 * dump, until something else overwrites it.  Called where the daemon
 * finishes with secrets.  x86-64 only (SSE, AVX, AVX-512); elsewhere a
 * no-op.
 */
void wipe_vector_registers(void);

#endif /* TC_WIPE_REGS_H */
