package steering

/*
#cgo CFLAGS: -std=c11 -O2
#cgo CPPFLAGS: -I${SRCDIR}/../.deps/ollama/llama/llama.cpp/include
#cgo CPPFLAGS: -I${SRCDIR}/../.deps/ollama/ml/backend/ggml/ggml/include
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"github.com/ollama/ollama/llama"
	"github.com/ollama/ollama/ml"
)

// The binding keeps its C handles in unexported fields. We reach them with
// unsafe casts whose layout assumptions are checked by TestBindingLayout;
// if ollama changes its structs, that test fails before anything else does.

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

func init() {
	// llama.cpp logs every tensor and key at INFO level; keep stderr for
	// warnings and errors unless the operator asks for more.
	level := C.GGML_LOG_LEVEL_WARN
	switch strings.ToLower(os.Getenv("ASMR_LLAMA_LOG")) {
	case "debug":
		level = C.GGML_LOG_LEVEL_DEBUG
	case "info":
		level = C.GGML_LOG_LEVEL_INFO
	case "error":
		level = C.GGML_LOG_LEVEL_ERROR
	case "none", "off":
		level = C.GGML_LOG_LEVEL_ERROR + 10
	}
	C.asmr_log_set_level(C.int(level))
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
func chatTemplate(m *C.struct_llama_model) string {
	t := C.llama_model_chat_template(m, nil)
	if t == nil {
		return ""
	}
	return C.GoString(t)
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

// checkParamsLayout verifies that llama.ContextParams is exactly the C
// struct, by size and by reading back values the binding set.
func checkParamsLayout() error {
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

// checkContextLayout verifies that cContext found the real llama_context*:
// the context must report the model it was made from and its n_ctx.
func checkContextLayout(lctx *llama.Context, model *llama.Model, nCtx int) error {
	c := cContext(lctx)
	if c == nil || C.llama_get_model(c) != cModel(model) || int(C.llama_n_ctx(c)) < nCtx {
		return errors.New("llama.Context does not hold llama_context* as its first field: the ollama binding changed; update steering/cgo.go")
	}
	return nil
}
