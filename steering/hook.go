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

// hook is the C side of a context's steering: the tables the eval callback
// reads and writes (shim.h's asmr_hook).
type hook = C.asmr_hook

// newHook allocates a hook for a model of layers layers whose kqv_out has
// width rows, for decodes of up to maxCols tokens, with tables shift
// tables (one per sequence). Free it with freeHook.
func newHook(layers, width, maxCols, tables int) (*hook, error) {
	h := C.asmr_hook_new(C.int32_t(layers), C.int32_t(width), C.int32_t(maxCols), C.int32_t(max(1, tables)))
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

// The hook's tables live in C memory: the callback reads them while
// llama_decode runs, and cgo forbids C from keeping Go pointers. Go writes
// them only between decodes, on the goroutine that decodes.

// layerTable returns the per-layer ask flags and capture buffers.
func (c *lcontext) layerTable() ([]C.uint8_t, []*C.float) {
	n := int(c.hook.n_layer)
	return unsafe.Slice(c.hook.ask, n), unsafe.Slice(c.hook.capture, n)
}

// shiftRows returns table t's shift row pointers, one per layer.
func (c *lcontext) shiftRows(t int) []*C.float {
	n := int(c.hook.n_layer)
	all := unsafe.Slice(c.hook.shift, int(c.hook.n_table)*n)
	return all[t*n : (t+1)*n]
}

// refreshAsk asks the scheduler for layer l's kqv_out when a table steers
// it or a capture reads it, and only then: every asked layer splits the
// graph, so an unsteered decode keeps it in one piece.
func (c *lcontext) refreshAsk(l int) {
	ask, capture := c.layerTable()
	ask[l] = boolByte(c.layerUse[l] > 0 || capture[l] != nil)
}

// install writes table t's per-layer shift rows for st, or clears them
// for nil. A sequence installs its table when it is admitted and clears
// it when it ends.
func (c *lcontext) install(t int, shape Shape, st *Steer) error {
	rows := c.shiftRows(t)
	for _, l := range c.steered[t] {
		C.free(unsafe.Pointer(rows[l]))
		rows[l] = nil
		c.layerUse[l]--
		c.refreshAsk(l)
	}
	c.steered[t] = c.steered[t][:0]
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
			c.install(t, shape, nil)
			return fmt.Errorf("allocate steering row for layer %d: out of memory", l)
		}
		rows[l] = p
		c.layerUse[l]++
		c.refreshAsk(l)
		c.steered[t] = append(c.steered[t], l)
	}
	for h, v := range st.Intervention {
		row := unsafe.Slice((*float32)(unsafe.Pointer(rows[h.Layer])), width)
		copy(row[h.Head*shape.HeadDim:(h.Head+1)*shape.HeadDim], v)
	}
	return nil
}

// setColumns gives column i of the next decode table tables[i]'s shifts
// (-1: none); the columns after len(tables) get none.
func (c *lcontext) setColumns(tables []int32) {
	cols := unsafe.Slice(c.hook.col_table, int(c.hook.max_cols))
	for i := range cols {
		t := C.int32_t(-1)
		if i < len(tables) {
			t = C.int32_t(tables[i])
		}
		cols[i] = t
	}
}

// captureLayers allocates capture buffers for layers (nil clears them).
func (c *lcontext) captureLayers(layers []int) error {
	_, capture := c.layerTable()
	for l := range capture {
		if capture[l] != nil {
			C.free(unsafe.Pointer(capture[l]))
			capture[l] = nil
			c.refreshAsk(l)
		}
	}
	size := C.size_t(int(c.hook.max_cols) * int(c.hook.width))
	for _, l := range layers {
		p := (*C.float)(C.calloc(size, C.size_t(unsafe.Sizeof(C.float(0)))))
		if p == nil {
			return fmt.Errorf("allocate capture buffer for layer %d: out of memory", l)
		}
		capture[l] = p
		c.refreshAsk(l)
	}
	return nil
}

// captureColumns sets which columns of the next decode are copied out.
func (c *lcontext) captureColumns(cols []int) {
	dst := unsafe.Slice(c.hook.capture_col, int(c.hook.max_cols))
	for i, col := range cols {
		dst[i] = C.int32_t(col)
	}
	c.hook.n_capture = C.int32_t(len(cols))
}

// captured returns the k-th captured column of layer l (a view into C memory,
// valid until the next decode).
func (c *lcontext) captured(l, k int) []float32 {
	_, capture := c.layerTable()
	w := int(c.hook.width)
	all := unsafe.Slice((*float32)(unsafe.Pointer(capture[l])), int(c.hook.max_cols)*w)
	return all[k*w : (k+1)*w]
}

// hookStats reports what the callback did since the last reset.
type hookStats struct {
	Seen, Bad, Device int64
}

func (c *lcontext) stats() hookStats {
	return hookStats{int64(c.hook.n_seen), int64(c.hook.n_bad), int64(c.hook.n_device)}
}

func (c *lcontext) resetStats() {
	c.hook.n_seen, c.hook.n_bad, c.hook.n_device = 0, 0, 0
}

// asked is the number of layers the callback is asked about per decode.
func (c *lcontext) asked() int {
	ask, _ := c.layerTable()
	n := 0
	for _, a := range ask {
		n += int(a)
	}
	return n
}

func boolByte(b bool) C.uint8_t {
	if b {
		return 1
	}
	return 0
}

// forceStaging makes the callback copy through ggml_backend_tensor_get/_set
// even for host buffers, as it must for GPU buffers (tests only, while
// the model is idle).
func (m *Model) forceStaging(on bool) {
	m.sched.c.hook.force_staging = C.bool(on)
}

// deviceTensors reports how many asked tensors went through the staging
// copy in the model's last decode (tests only, while the model is idle).
func (m *Model) deviceTensors() int64 {
	return int64(m.sched.c.hook.n_device)
}
