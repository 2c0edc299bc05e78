/*
 * A stand-in for Windows' bcryptprimitives.dll, for running Go programs
 * under Wine 8 only: Go 1.24 and later take their random bytes from its
 * ProcessPrng, which Wine 8 does not have. Never shipped with Autografo;
 * Windows 10 and 11 have the real one.
 */
#include <windows.h>

/* RtlGenRandom, exported by advapi32 as SystemFunction036. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
	while (length > 0) {
		ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		length -= n;
	}
	return TRUE;
}
