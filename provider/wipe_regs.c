/*
 * wipe_regs.c - zero the vector registers (see wipe_regs.h).
 */
#include "wipe_regs.h"

#if defined(__x86_64__)
__attribute__((target("avx512f"), noinline)) static void
wipe_avx512(void)
{
	__asm__ volatile(
	    "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
	    "vmovdqa64 %%zmm0, %%zmm1\n\t"   "vmovdqa64 %%zmm0, %%zmm2\n\t"
	    "vmovdqa64 %%zmm0, %%zmm3\n\t"   "vmovdqa64 %%zmm0, %%zmm4\n\t"
	    "vmovdqa64 %%zmm0, %%zmm5\n\t"   "vmovdqa64 %%zmm0, %%zmm6\n\t"
	    "vmovdqa64 %%zmm0, %%zmm7\n\t"   "vmovdqa64 %%zmm0, %%zmm8\n\t"
	    "vmovdqa64 %%zmm0, %%zmm9\n\t"   "vmovdqa64 %%zmm0, %%zmm10\n\t"
	    "vmovdqa64 %%zmm0, %%zmm11\n\t"  "vmovdqa64 %%zmm0, %%zmm12\n\t"
	    "vmovdqa64 %%zmm0, %%zmm13\n\t"  "vmovdqa64 %%zmm0, %%zmm14\n\t"
	    "vmovdqa64 %%zmm0, %%zmm15\n\t"  "vmovdqa64 %%zmm0, %%zmm16\n\t"
	    "vmovdqa64 %%zmm0, %%zmm17\n\t"  "vmovdqa64 %%zmm0, %%zmm18\n\t"
	    "vmovdqa64 %%zmm0, %%zmm19\n\t"  "vmovdqa64 %%zmm0, %%zmm20\n\t"
	    "vmovdqa64 %%zmm0, %%zmm21\n\t"  "vmovdqa64 %%zmm0, %%zmm22\n\t"
	    "vmovdqa64 %%zmm0, %%zmm23\n\t"  "vmovdqa64 %%zmm0, %%zmm24\n\t"
	    "vmovdqa64 %%zmm0, %%zmm25\n\t"  "vmovdqa64 %%zmm0, %%zmm26\n\t"
	    "vmovdqa64 %%zmm0, %%zmm27\n\t"  "vmovdqa64 %%zmm0, %%zmm28\n\t"
	    "vmovdqa64 %%zmm0, %%zmm29\n\t"  "vmovdqa64 %%zmm0, %%zmm30\n\t"
	    "vmovdqa64 %%zmm0, %%zmm31\n\t"
	    "vzeroupper"
	    ::: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
	    "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18",
	    "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",
	    "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30",
	    "xmm31");
}

__attribute__((target("avx"), noinline)) static void
wipe_avx(void)
{
	__asm__ volatile("vzeroall"
	    ::: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
	    "xmm13", "xmm14", "xmm15");
}

static __attribute__((noinline)) void
wipe_sse(void)
{
	__asm__ volatile(
	    "pxor %%xmm0, %%xmm0\n\t"   "pxor %%xmm1, %%xmm1\n\t"
	    "pxor %%xmm2, %%xmm2\n\t"   "pxor %%xmm3, %%xmm3\n\t"
	    "pxor %%xmm4, %%xmm4\n\t"   "pxor %%xmm5, %%xmm5\n\t"
	    "pxor %%xmm6, %%xmm6\n\t"   "pxor %%xmm7, %%xmm7\n\t"
	    "pxor %%xmm8, %%xmm8\n\t"   "pxor %%xmm9, %%xmm9\n\t"
	    "pxor %%xmm10, %%xmm10\n\t" "pxor %%xmm11, %%xmm11\n\t"
	    "pxor %%xmm12, %%xmm12\n\t" "pxor %%xmm13, %%xmm13\n\t"
	    "pxor %%xmm14, %%xmm14\n\t" "pxor %%xmm15, %%xmm15"
	    ::: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
	    "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
	    "xmm13", "xmm14", "xmm15");
}

void
wipe_vector_registers(void)
{
	if (__builtin_cpu_supports("avx512f"))
		wipe_avx512();
	else if (__builtin_cpu_supports("avx"))
		wipe_avx();
	else
		wipe_sse();
}
#else
void
wipe_vector_registers(void)
{
}
#endif
