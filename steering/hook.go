package steering

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/ollama/ollama/llama"
)

// hook is the C side of a slot's steering: the tables the eval callback
// reads and writes (shim.h's asmr_hook).
type hook = C.asmr_hook

// newHook allocates a hook for a model of layers layers whose kqv_out has
// width rows, for decodes of up to maxCols tokens. Free it with freeHook.
func newHook(layers, width, maxCols int) (*hook, error) {
	h := C.asmr_hook_new(C.int32_t(layers), C.int32_t(width), C.int32_t(maxCols))
	if h == nil {
		return nil, errors.New("allocate steering hook: out of memory")
	}
	return h, nil
}

// freeHook frees h and its steering and capture rows.
func freeHook(h *hook) {
	C.asmr_hook_free(h)
}

// setHook makes contexts created with p call h's eval callback. kvUnified
// asks for one KV cache across sequences, which keeps a multi-sequence
// batch in order in the callback's columns.
func setHook(p *llama.ContextParams, h *hook, kvUnified bool) {
	C.asmr_params_set_hook(cContextParams(p), h, C.bool(kvUnified), false)
}

// The slot's hook tables live in C memory: the callback reads them while
// llama_decode runs, and cgo forbids C from keeping Go pointers.

func (s *slot) layerTable() ([]C.uint8_t, []*C.float, []*C.float) {
	n := int(s.hook.n_layer)
	return unsafe.Slice(s.hook.ask, n), unsafe.Slice(s.hook.shift, n), unsafe.Slice(s.hook.capture, n)
}

// install writes the per-layer shift rows for st, or clears them for nil.
// Only steered layers are asked about, so an unsteered decode keeps the
// graph in one piece.
func (s *slot) install(shape Shape, st *Steer) error {
	ask, shift, capture := s.layerTable()
	for _, l := range s.steered {
		C.free(unsafe.Pointer(shift[l]))
		shift[l] = nil
		ask[l] = boolByte(capture[l] != nil)
	}
	s.steered = s.steered[:0]
	if !st.active() {
		return nil
	}
	if err := st.Intervention.Validate(shape); err != nil {
		return err
	}
	width := shape.Width()
	for _, l := range st.Intervention.Layers() {
		p := (*C.float)(C.calloc(C.size_t(width), C.size_t(unsafe.Sizeof(C.float(0)))))
		if p == nil {
			return fmt.Errorf("allocate steering row for layer %d: out of memory", l)
		}
		shift[l] = p
		ask[l] = 1
		s.steered = append(s.steered, l)
	}
	for h, v := range st.Intervention {
		row := unsafe.Slice((*float32)(unsafe.Pointer(shift[h.Layer])), width)
		copy(row[h.Head*shape.HeadDim:(h.Head+1)*shape.HeadDim], v)
	}
	return nil
}

// steerColumns marks columns [from, n) of the next decode as steered.
func (s *slot) steerColumns(from, n int) {
	cols := unsafe.Slice(s.hook.steer_col, int(s.hook.max_cols))
	for i := range cols {
		cols[i] = boolByte(i >= from && i < n)
	}
}

// captureLayers allocates capture buffers for layers (nil clears them).
func (s *slot) captureLayers(layers []int) error {
	ask, shift, capture := s.layerTable()
	for l := range capture {
		if capture[l] != nil {
			C.free(unsafe.Pointer(capture[l]))
			capture[l] = nil
			ask[l] = boolByte(shift[l] != nil)
		}
	}
	size := C.size_t(int(s.hook.max_cols) * int(s.hook.width))
	for _, l := range layers {
		p := (*C.float)(C.calloc(size, C.size_t(unsafe.Sizeof(C.float(0)))))
		if p == nil {
			return fmt.Errorf("allocate capture buffer for layer %d: out of memory", l)
		}
		capture[l] = p
		ask[l] = 1
	}
	return nil
}

// captureColumns sets which columns of the next decode are copied out.
func (s *slot) captureColumns(cols []int) {
	dst := unsafe.Slice(s.hook.capture_col, int(s.hook.max_cols))
	for i, c := range cols {
		dst[i] = C.int32_t(c)
	}
	s.hook.n_capture = C.int32_t(len(cols))
}

// captured returns the k-th captured column of layer l (a view into C memory,
// valid until the next decode).
func (s *slot) captured(l, k int) []float32 {
	_, _, capture := s.layerTable()
	w := int(s.hook.width)
	all := unsafe.Slice((*float32)(unsafe.Pointer(capture[l])), int(s.hook.max_cols)*w)
	return all[k*w : (k+1)*w]
}

// hookStats reports what the callback did since the last reset.
type hookStats struct {
	Seen, Bad, Device int64
}

func (s *slot) stats() hookStats {
	return hookStats{int64(s.hook.n_seen), int64(s.hook.n_bad), int64(s.hook.n_device)}
}

func (s *slot) resetStats() {
	s.hook.n_seen, s.hook.n_bad, s.hook.n_device = 0, 0, 0
}

func boolByte(b bool) C.uint8_t {
	if b {
		return 1
	}
	return 0
}

// forceStaging makes the callback copy through ggml_backend_tensor_get/_set
// even for host buffers, as it must for GPU buffers (tests only).
func (m *Model) forceStaging(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.all {
		s.hook.force_staging = C.bool(on)
	}
}

// deviceTensors reports how many asked tensors went through the staging
// copy in each slot's last decode.
func (m *Model) deviceTensors() int64 {
	var n int64
	for _, s := range m.all {
		n += int64(s.hook.n_device)
	}
	return n
}
