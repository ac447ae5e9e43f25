/* STREAM triad, a[i] = b[i] + s * c[i], on a chosen number of OpenMP threads: the memory bandwidth the
 * elementwise workloads are judged against. triad_nt writes a with non-temporal (streaming) stores, which skip
 * the read-for-ownership of a's cache lines; what a loop that writes a fresh output can reach at best. */
#include <stdint.h>
#include <omp.h>
#include <immintrin.h>

void triad(float *restrict a, const float *restrict b, const float *restrict c, float s, int64_t n, int threads) {
    #pragma omp parallel for simd num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

void triad_nt(float *restrict a, const float *restrict b, const float *restrict c, float s, int64_t n,
              int threads) {
    #pragma omp parallel num_threads(threads)
    {
        int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t lo = n * t / nt, hi = n * (t + 1) / nt, i = lo;
#ifdef __AVX__
        for (; i < hi && ((uintptr_t)(a + i) & 31); ++i) a[i] = b[i] + s * c[i];  /* up to 32-byte alignment */
        __m256 vs = _mm256_set1_ps(s);
        for (; i + 8 <= hi; i += 8)
            _mm256_stream_ps(a + i, _mm256_add_ps(_mm256_loadu_ps(b + i), _mm256_mul_ps(vs, _mm256_loadu_ps(c + i))));
        _mm_sfence();
#endif
        for (; i < hi; ++i) a[i] = b[i] + s * c[i];
    }
}
