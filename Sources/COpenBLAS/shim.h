// OpenBLAS's CBLAS interface: every matrix product in attn goes through cblas_sgemm.
#include <cblas.h>
