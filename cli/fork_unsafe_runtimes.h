/*
 * fork_unsafe_runtimes.h — THE DATA FILE: libraries known to hang a fork
 * child, how to recognise them from a stack, what to do, and where that is
 * documented. One row per runtime:
 *
 *   FW_RUNTIME(NAME, MODULES, FUNCTIONS, ADVICE, SOURCE)
 *
 * MODULES: '|'-separated substrings of a frame's module basename;
 * FUNCTIONS: '|'-separated prefixes of a frame's function name (either
 * matches). The first row that matches any frame of a deadlock event (waiter,
 * holder, lost threads; for a watchdog "hang", every finding) names the
 * runtime in the summary and the event's "runtime" object.
 * Included by fork_unsafe.c only; add rows here, nothing else changes.
 */
FW_RUNTIME("GNU OpenMP (libgomp)",
           "libgomp.so", "gomp_|GOMP_",
           "libgomp's thread pool does not survive fork(): fork before the first parallel region, "
           "set OMP_NUM_THREADS=1 in the parent, or start workers with the spawn or forkserver start methods",
           "GCC PR 52303, https://gcc.gnu.org/bugzilla/show_bug.cgi?id=52303")
FW_RUNTIME("OpenBLAS (pthread or OpenMP build)",
           "libopenblas", "exec_blas|blas_thread_server|blas_thread_init|openblas_",
           "OpenBLAS's worker threads do not survive fork(): set OPENBLAS_NUM_THREADS=1 before numpy (or "
           "anything using OpenBLAS) is imported, or use the spawn or forkserver start methods",
           "OpenBLAS issue 294, https://github.com/xianyi/OpenBLAS/issues/294; numpy issue 9248, "
           "https://github.com/numpy/numpy/issues/9248")
FW_RUNTIME("gRPC",
           "cygrpc|libgrpc", "grpc_|gpr_",
           "gRPC's threads and pollers do not survive fork() unless fork support is on: set "
           "GRPC_ENABLE_FORK_SUPPORT=1 (and GRPC_POLL_STRATEGY=poll) before grpc is imported, or create "
           "channels only after the fork",
           "grpc issue 13873, https://github.com/grpc/grpc/issues/13873; "
           "https://github.com/grpc/grpc/blob/master/doc/fork_support.md")
FW_RUNTIME("Intel MKL / Intel OpenMP (libiomp5)",
           "libmkl_|libiomp5", "mkl_|__kmp",
           "MKL's OpenMP threads do not survive fork(): set MKL_THREADING_LAYER=sequential (or tbb) or "
           "MKL_NUM_THREADS=1 before import, KMP_INIT_AT_FORK=FALSE for libiomp5, or use the spawn start method",
           "numpy issue 11734, https://github.com/numpy/numpy/issues/11734; apache/mxnet issue 12710, "
           "https://github.com/apache/mxnet/issues/12710")
FW_RUNTIME("CUDA",
           "libcuda.so|libcudart", "cuInit|cudaGetDevice|cudaSetDevice",
           "CUDA does not support fork() once initialised: use the spawn or forkserver start method, and "
           "initialise CUDA only in the workers",
           "NVIDIA cuda-python pull request 1309, https://github.com/NVIDIA/cuda-python/pull/1309")
