#include "shim.h"
#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

asmr_hook *asmr_hook_new(int32_t n_layer, int32_t width, int32_t max_cols, int32_t n_table) {
    asmr_hook *h = calloc(1, sizeof(asmr_hook));
    if (h == NULL) {
        return NULL;
    }
    h->n_layer = n_layer;
    h->width = width;
    h->max_cols = max_cols;
    h->n_table = n_table;
    h->ask = calloc((size_t)n_layer, sizeof(uint8_t));
    h->shift = calloc((size_t)n_table * (size_t)n_layer, sizeof(float *));
    h->capture = calloc((size_t)n_layer, sizeof(float *));
    h->col_table = malloc((size_t)max_cols * sizeof(int32_t));
    h->capture_col = calloc((size_t)max_cols, sizeof(int32_t));
    h->scratch = calloc((size_t)max_cols * (size_t)width, sizeof(float));
    if (n_table < 1 || !h->ask || !h->shift || !h->capture || !h->col_table || !h->capture_col || !h->scratch) {
        asmr_hook_free(h);
        return NULL;
    }
    for (int32_t c = 0; c < max_cols; c++) h->col_table[c] = -1;
    return h;
}

void asmr_hook_free(asmr_hook *h) {
    if (h == NULL) {
        return;
    }
    if (h->shift) {
        for (int32_t i = 0; i < h->n_table * h->n_layer; i++) free(h->shift[i]);
    }
    if (h->capture) {
        for (int32_t l = 0; l < h->n_layer; l++) free(h->capture[l]);
    }
    free(h->ask);
    free(h->shift);
    free(h->capture);
    free(h->col_table);
    free(h->capture_col);
    free(h->scratch);
    free(h);
}

// layer_of returns the layer of a "kqv_out-<l>" node, or -1 for any other node.
static int layer_of(const struct ggml_tensor *t) {
    if (strncmp(t->name, "kqv_out-", 8) != 0) {
        return -1;
    }
    const char *p = t->name + 8;
    if (*p < '0' || *p > '9') {
        return -1;
    }
    int l = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        l = l * 10 + (*p - '0');
        if (l > 1 << 20) return -1;
    }
    return *p == '\0' ? l : -1;
}

bool asmr_cb_eval(struct ggml_tensor *t, bool ask, void *user_data) {
    asmr_hook *h = (asmr_hook *)user_data;
    int l = layer_of(t);
    if (l < 0 || l >= h->n_layer || !h->ask[l]) {
        // Asked: "no, skip this node". Computed (cannot happen for a node we
        // declined): returning true lets the graph run on.
        return !ask;
    }
    if (ask) {
        return true;
    }

    const int64_t n_tok = t->ne[1];
    if (t->type != GGML_TYPE_F32 || t->ne[0] != h->width || n_tok > h->max_cols ||
        t->ne[2] != 1 || t->ne[3] != 1) {
        h->n_bad++;
        return true;
    }

    struct ggml_backend_buffer *buf = t->view_src ? t->view_src->buffer : t->buffer;
    const bool host = !h->force_staging && (buf == NULL || ggml_backend_buffer_is_host(buf));
    char *base;
    size_t row_stride;
    if (host) {
        base = (char *)t->data;
        row_stride = t->nb[1];
    } else {
        if (!ggml_is_contiguous(t)) {
            h->n_bad++;
            return true;
        }
        h->n_device++;
        ggml_backend_tensor_get(t, h->scratch, 0, ggml_nbytes(t));
        base = (char *)h->scratch;
        row_stride = (size_t)h->width * sizeof(float);
    }

    // Each column gets the shift of its own sequence's table, if any: a
    // batch mixes sequences steered differently, and unsteered ones.
    bool changed = false;
    for (int64_t c = 0; c < n_tok; c++) {
        const int32_t tab = h->col_table[c];
        if (tab < 0 || tab >= h->n_table) continue;
        const float *shift = h->shift[(size_t)tab * (size_t)h->n_layer + (size_t)l];
        if (shift == NULL) continue;
        float *row = (float *)(base + (size_t)c * row_stride);
        for (int32_t j = 0; j < h->width; j++) row[j] += shift[j];
        changed = true;
    }

    float *dst = h->capture[l];
    if (dst != NULL) {
        for (int32_t k = 0; k < h->n_capture; k++) {
            int32_t c = h->capture_col[k];
            if (c < 0 || c >= n_tok) continue;
            memcpy(dst + (size_t)k * (size_t)h->width, base + (size_t)c * row_stride,
                   (size_t)h->width * sizeof(float));
        }
    }

    if (!host && changed) {
        ggml_backend_tensor_set(t, h->scratch, 0, ggml_nbytes(t));
    }
    h->n_seen++;
    return true;
}

void asmr_params_set_hook(struct llama_context_params *p, asmr_hook *h, bool kv_unified, bool embeddings) {
    p->cb_eval = asmr_cb_eval;
    p->cb_eval_user_data = h;
    p->kv_unified = kv_unified;
    p->embeddings = embeddings;
}

void asmr_params_set_kv_type(struct llama_context_params *p, int type) {
    p->type_k = (enum ggml_type)type;
    p->type_v = (enum ggml_type)type;
}

struct ggml_threadpool *asmr_threadpool_attach(struct llama_context *ctx, int n_threads, uint32_t poll) {
    struct ggml_threadpool_params p = ggml_threadpool_params_default(n_threads);
    p.poll = poll;
    struct ggml_threadpool *tp = ggml_threadpool_new(&p);
    if (tp != NULL) {
        llama_attach_threadpool(ctx, tp, tp);
    }
    return tp;
}

bool asmr_to_float(int type, const void *src, float *dst, int64_t n) {
    if (type == GGML_TYPE_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return true;
    }
    if (type < 0 || type >= GGML_TYPE_COUNT) {
        return false;
    }
    const struct ggml_type_traits *tt = ggml_get_type_traits((enum ggml_type)type);
    if (tt == NULL || tt->to_float == NULL || n % tt->blck_size != 0) {
        return false;
    }
    tt->to_float(src, dst, n);
    return true;
}

int32_t asmr_logits_scan(struct llama_context *ctx, int32_t i, int32_t *argmax) {
    const float *l = llama_get_logits_ith(ctx, i);
    if (l == NULL) {
        return -1;
    }
    const int32_t n = llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx)));
    int32_t bad = 0;
    int32_t best = -1;
    float max_l = 0;
    for (int32_t k = 0; k < n; k++) {
        if (!isfinite(l[k])) {
            bad++;
        } else if (best < 0 || l[k] > max_l) {
            best = k;
            max_l = l[k];
        }
    }
    if (argmax != NULL) {
        *argmax = best;
    }
    return bad;
}

int32_t asmr_seq_pos_min(struct llama_context *ctx, int32_t seq) {
    return llama_memory_seq_pos_min(llama_get_memory(ctx), seq);
}
