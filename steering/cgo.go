package steering

/*
#cgo CFLAGS: -std=c11 -O2
#cgo CPPFLAGS: -I${SRCDIR}/../.deps/ollama/llama/llama.cpp/include
#cgo CPPFLAGS: -I${SRCDIR}/../.deps/ollama/ml/backend/ggml/ggml/include
#include <stdlib.h>
#include "shim.h"

extern void asmrLlamaLog(int level, char *text, void *user_data);
*/
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"unsafe"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/logutil"
	"github.com/ollama/ollama/ml"

	"github.com/asmr-search/generative-asmr/config"
)

// The binding keeps its C handles in unexported fields. We reach them with
// unsafe casts whose layout assumptions checkBindingLayout (run by Load)
// and checkContextLayout (run for every new context) verify, and
// TestBindingLayout (cgo_test.go) runs both: if ollama changes its structs,
// that test fails, and Load returns an error instead of reading garbage.

// cContextParams views the binding's ContextParams as the C struct it wraps
// (its only field).
func cContextParams(p *llama.ContextParams) *C.struct_llama_context_params {
	return (*C.struct_llama_context_params)(unsafe.Pointer(p))
}

// cContext returns the llama_context* held in the first field of llama.Context.
func cContext(c *llama.Context) *C.struct_llama_context {
	return *(**C.struct_llama_context)(unsafe.Pointer(c))
}

// cModel returns the llama_model* held in the only field of llama.Model.
func cModel(m *llama.Model) *C.struct_llama_model {
	return *(**C.struct_llama_model)(unsafe.Pointer(m))
}

// init sends llama.cpp's and ggml's log output (llama_log_set sets both)
// to slog, replacing the callbacks the ollama packages install.
func init() {
	C.llama_log_set(C.ggml_log_callback(C.asmrLlamaLog), nil)
}

// asmrLlamaLog is llama.cpp's log callback: a message, or with level CONT
// more of the one before.
//
//export asmrLlamaLog
func asmrLlamaLog(level C.int, text *C.char, _ unsafe.Pointer) {
	cont := level == C.GGML_LOG_LEVEL_CONT
	llamaLog.write(llamaLevel(level), cont, func() string { return C.GoString(text) })
}

// llamaLevel maps a ggml log level to a slog level. Errors and warnings
// keep theirs. llama.cpp's INFO, which lists every key and tensor of a
// model as it loads, is slog's Debug, and its DEBUG is ollama's
// logutil.LevelTrace: one step below ollama's own mapping, so that a
// program logging at Info shows llama.cpp's warnings and errors only.
func llamaLevel(level C.int) slog.Level {
	switch level {
	case C.GGML_LOG_LEVEL_ERROR:
		return slog.LevelError
	case C.GGML_LOG_LEVEL_WARN:
		return slog.LevelWarn
	case C.GGML_LOG_LEVEL_INFO:
		return slog.LevelDebug
	}
	return logutil.LevelTrace
}

// metaString reads a GGUF metadata value as llama.cpp stores it.
func metaString(m *C.struct_llama_model, key string) (string, bool) {
	ck := C.CString(key)
	defer C.free(unsafe.Pointer(ck))
	n := C.llama_model_meta_val_str(m, ck, nil, 0)
	if n < 0 {
		return "", false
	}
	buf := make([]byte, int(n)+1)
	C.llama_model_meta_val_str(m, ck, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return string(buf[:n]), true
}

// chatTemplate returns the model's built-in chat template, or "".
func chatTemplate(m *llama.Model) string {
	t := C.llama_model_chat_template(cModel(m), nil)
	if t == nil {
		return ""
	}
	return C.GoString(t)
}

// readShape reads the attention shape of a loaded model.
func readShape(m *llama.Model) (Shape, error) {
	cm := cModel(m)
	arch, _ := metaString(cm, "general.architecture")
	s := Shape{
		Arch:         arch,
		Layers:       int(C.llama_model_n_layer(cm)),
		Heads:        int(C.llama_model_n_head(cm)),
		KVHeads:      int(C.llama_model_n_head_kv(cm)),
		Embd:         int(C.llama_model_n_embd(cm)),
		Vocab:        m.NumVocab(),
		TrainContext: int(C.llama_model_n_ctx_train(cm)),
	}
	if s.Heads <= 0 || s.Layers <= 0 {
		return Shape{}, fmt.Errorf("model reports %d layers and %d heads", s.Layers, s.Heads)
	}
	s.HeadDim = s.Embd / s.Heads
	if v, ok := metaString(cm, arch+".attention.value_length"); ok {
		if _, err := fmt.Sscan(v, &s.HeadDim); err != nil {
			return Shape{}, fmt.Errorf("bad %s.attention.value_length %q: %w", arch, v, err)
		}
	}
	return s, nil
}

// kvType maps a KV-cache type to its ggml type.
func kvType(t config.KVCacheType) (C.int, error) {
	t, err := config.ParseKVCacheType(string(t))
	if err != nil {
		return 0, fmt.Errorf("KV cache type %w", err)
	}
	switch t {
	case config.KVCacheF16:
		return C.GGML_TYPE_F16, nil
	case config.KVCacheF32:
		return C.GGML_TYPE_F32, nil
	case config.KVCacheQ8_0:
		return C.GGML_TYPE_Q8_0, nil
	case config.KVCacheQ4_0:
		return C.GGML_TYPE_Q4_0, nil
	}
	return 0, fmt.Errorf("KV cache type %q: no ggml type for it", t)
}

// setKVType sets the element type of the KV cache (K and V) of contexts
// made with p, which the binding does not expose.
func setKVType(p *llama.ContextParams, kv config.KVCacheType) error {
	t, err := kvType(kv)
	if err != nil {
		return err
	}
	C.asmr_params_set_kv_type(cContextParams(p), t)
	return nil
}

// freeContext frees a context made by llama.NewContextWithModel, which the
// binding has no method for.
func freeContext(c *llama.Context) {
	C.llama_free(cContext(c))
}

// threadpool is a ggml CPU threadpool (struct ggml_threadpool).
type threadpool = C.struct_ggml_threadpool

// attachThreadpool gives c a persistent CPU threadpool of n threads that
// poll at level poll (0..100) between graph splits; nil if ggml could not
// make one, and c keeps its default. Free it with freeThreadpool after c.
func attachThreadpool(c *llama.Context, n, poll int) *threadpool {
	return C.asmr_threadpool_attach(cContext(c), C.int(n), C.uint32_t(poll))
}

func freeThreadpool(p *threadpool) {
	C.ggml_threadpool_free(p)
}

// logitsScan counts the NaN and infinite logits of batch position i of
// c's last decode (-1 when that position has no logits) and, in the same
// pass, finds the token of the largest finite logit, the lowest id among
// equals (-1 when none is finite): greedy sampling without building
// llama.cpp's candidate array of the whole vocabulary.
func logitsScan(c *llama.Context, i int) (bad, tok int) {
	var t C.int32_t
	bad = int(C.asmr_logits_scan(cContext(c), C.int32_t(i), &t))
	return bad, int(t)
}

// seqPosMin is the smallest position of sequence seq in c's KV cache (the
// sliding-window cache's, for a model with one); -1 when it has none.
func seqPosMin(c *llama.Context, seq int) int {
	return int(C.asmr_seq_pos_min(cContext(c), C.int32_t(seq)))
}

// modelSWA is the model's sliding attention window in tokens; 0 = none.
func modelSWA(m *llama.Model) int {
	return max(0, int(C.llama_model_n_swa(cModel(m))))
}

// dequantize converts len(dst) values of ggml type kind (quantized ones
// included) from src into dst. It is false for a type ggml cannot convert
// or a count that is not a whole number of its blocks.
func dequantize(kind uint32, src []byte, dst []float32) bool {
	return bool(C.asmr_to_float(C.int(kind), unsafe.Pointer(&src[0]), (*C.float)(unsafe.Pointer(&dst[0])), C.int64_t(len(dst))))
}

// applyChatTemplate formats messages with llama.cpp's template engine, which
// recognises the common template families by their text. ok is false when
// llama.cpp does not know the template.
func applyChatTemplate(tmpl string, msgs []Message) (string, bool) {
	ct := C.CString(tmpl)
	defer C.free(unsafe.Pointer(ct))
	cmsgs := (*[1 << 20]C.struct_llama_chat_message)(C.malloc(C.size_t(len(msgs)) * C.size_t(unsafe.Sizeof(C.struct_llama_chat_message{}))))[:len(msgs):len(msgs)]
	defer C.free(unsafe.Pointer(&cmsgs[0]))
	size := 64
	for i, m := range msgs {
		cmsgs[i].role = C.CString(m.Role)
		cmsgs[i].content = C.CString(m.Content)
		size += 2 * (len(m.Role) + len(m.Content))
		defer C.free(unsafe.Pointer(cmsgs[i].role))
		defer C.free(unsafe.Pointer(cmsgs[i].content))
	}
	for range 2 {
		buf := C.malloc(C.size_t(size))
		n := C.llama_chat_apply_template(ct, &cmsgs[0], C.size_t(len(msgs)), true, (*C.char)(buf), C.int32_t(size))
		if n < 0 {
			C.free(buf)
			return "", false
		}
		if int(n) <= size {
			s := C.GoStringN((*C.char)(buf), n)
			C.free(buf)
			return s, true
		}
		C.free(buf)
		size = int(n) + 1
	}
	return "", false
}

// checkBindingLayout verifies, before any unsafe read, that the binding's
// structs hold the C handles where cContextParams, cContext and cModel look
// for them: first, by type and size, with nothing but one pointer in
// llama.Model; and that llama.ContextParams reads back the values the
// binding set.
func checkBindingLayout() error {
	for _, c := range []struct{ outer, first reflect.Type }{
		{reflect.TypeFor[llama.ContextParams](), reflect.TypeFor[C.struct_llama_context_params]()},
		{reflect.TypeFor[llama.Context](), reflect.TypeFor[*C.struct_llama_context]()},
		{reflect.TypeFor[llama.Model](), reflect.TypeFor[*C.struct_llama_model]()},
	} {
		if err := checkFirstField(c.outer, c.first); err != nil {
			return fmt.Errorf("%w: the ollama binding changed; update steering/cgo.go", err)
		}
	}
	if got, want := unsafe.Sizeof(llama.ContextParams{}), uintptr(C.sizeof_struct_llama_context_params); got != want {
		return fmt.Errorf("llama.ContextParams is %d bytes, llama_context_params %d: the ollama binding changed; update steering/cgo.go", got, want)
	}
	if got, want := unsafe.Sizeof(llama.Model{}), unsafe.Sizeof(uintptr(0)); got != want {
		return fmt.Errorf("llama.Model is %d bytes, want one pointer (%d): the ollama binding changed; update steering/cgo.go", got, want)
	}
	p := llama.NewContextParams(123, 7, 3, 5, ml.FlashAttentionDisabled, "")
	c := cContextParams(&p)
	if c.n_ctx != 123 || c.n_ubatch != 7 || c.n_batch != 21 || c.n_seq_max != 3 || c.n_threads != 5 {
		return fmt.Errorf("llama.ContextParams does not hold llama_context_params at offset 0 (read n_ctx %d, n_ubatch %d): the ollama binding changed; update steering/cgo.go",
			c.n_ctx, c.n_ubatch)
	}
	return nil
}

// checkFirstField checks that the first field of struct type outer has the
// type want. The binding's C types are Go types of its own package, named
// as cgo names ours, so they compare by kind, name and size.
func checkFirstField(outer, want reflect.Type) error {
	if outer.Kind() != reflect.Struct || outer.NumField() == 0 {
		return fmt.Errorf("%s is not a struct with fields", outer)
	}
	f := outer.Field(0)
	got, w := f.Type, want
	if got.Kind() == reflect.Pointer && w.Kind() == reflect.Pointer {
		got, w = got.Elem(), w.Elem()
	}
	if got.Kind() != w.Kind() || got.Name() != w.Name() || got.Size() != w.Size() {
		return fmt.Errorf("the first field of %s, %s, is a %s, want a %s", outer, f.Name, f.Type, want)
	}
	return nil
}

// checkContextLayout verifies that cContext found the real llama_context*:
// the context must report the model it was made from and its n_ctx.
func checkContextLayout(lctx *llama.Context, model *llama.Model, nCtx int) error {
	c := cContext(lctx)
	if c == nil || C.llama_get_model(c) != cModel(model) || int(C.llama_n_ctx(c)) < nCtx {
		return errors.New("llama.Context does not hold llama_context* as its first field: the ollama binding changed; update steering/cgo.go")
	}
	return nil
}
