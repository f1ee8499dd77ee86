// Package steering's C side: the llama.cpp eval callback that adds steering
// shifts to, and copies activations out of, the attention output of chosen
// layers ("kqv_out-<layer>", before the W_o projection).
//
// The callback is written in C because the scheduler asks it about every node
// of every graph, hundreds of times per token; a call into Go for each would
// cost more than the steering itself. Go fills the tables below between
// decodes and never while llama_decode runs.
#ifndef ASMR_SHIM_H
#define ASMR_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "ggml.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama.h"

typedef struct asmr_hook {
    int32_t n_layer;
    int32_t width;      // rows of kqv_out: n_head * d_h
    int32_t max_cols;   // n_ubatch: the most columns one callback pass can see
    int32_t n_table;    // shift tables: one per sequence of the context

    // Per layer, filled by Go.
    uint8_t *ask;       // [n_layer]: 1 = ask the scheduler for kqv_out-<l>
    float **shift;      // [n_table * n_layer]: table t's row of layer l at
                        // t*n_layer + l, NULL or [width]
    float **capture;    // [n_layer]: NULL or [max_cols * width], filled for capture_col

    // Per decode, filled by Go.
    int32_t *col_table;   // [max_cols]: the shift table added to this column, or -1
    int32_t *capture_col; // [max_cols]: columns copied into capture[l], in order
    int32_t n_capture;

    // Written by the callback; read by Go after a decode.
    int64_t n_seen;     // asked tensors the callback processed
    int64_t n_bad;      // asked tensors skipped (unexpected type or shape)
    int64_t n_device;   // asked tensors that were not in host memory

    float *scratch;     // [max_cols * width]: staging copy for device buffers

    // Tests set this to take the device-buffer path (tensor_get/_set) on
    // host buffers too, so that path is exercised on machines without a GPU.
    bool force_staging;
} asmr_hook;

asmr_hook *asmr_hook_new(int32_t n_layer, int32_t width, int32_t max_cols, int32_t n_table);
void asmr_hook_free(asmr_hook *h);

// asmr_cb_eval is a ggml_backend_sched_eval_callback.
bool asmr_cb_eval(struct ggml_tensor *t, bool ask, void *user_data);

// asmr_params_set_hook installs the callback and tunes the context params
// the Go binding does not expose.
void asmr_params_set_hook(struct llama_context_params *p, asmr_hook *h, bool kv_unified, bool embeddings);

// asmr_params_set_kv_type sets the KV-cache element type (ggml_type) of K and V.
void asmr_params_set_kv_type(struct llama_context_params *p, int type);

// asmr_threadpool_attach creates a persistent, polling CPU threadpool and
// attaches it to ctx. Without it each graph split wakes sleeping workers,
// which costs about 9% of decode speed when layers are steered.
struct ggml_threadpool *asmr_threadpool_attach(struct llama_context *ctx, int n_threads, uint32_t poll);

// asmr_to_float dequantizes n values of ggml type `type` (any type ggml
// knows, quantized ones included) into dst. Returns false for an unknown type.
bool asmr_to_float(int type, const void *src, float *dst, int64_t n);

// asmr_logits_scan counts the NaN and infinite values among the logits of
// batch position i (llama_get_logits_ith); -1 when there are none there.
// When argmax is not NULL it receives the token of the largest finite
// logit, the lowest id among equals, as llama.cpp's temperature-0 sampler
// picks it (-1 when none is finite). One pass over the vocabulary.
int32_t asmr_logits_scan(struct llama_context *ctx, int32_t i, int32_t *argmax);

// asmr_seq_pos_min is the smallest position of sequence seq in ctx's memory
// (the sliding-window cache's, for a model with one), -1 when it has none.
int32_t asmr_seq_pos_min(struct llama_context *ctx, int32_t seq);

#endif
