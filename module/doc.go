// Package module is the Weaviate glue: the generative-asmr module that
// answers generate(singleResult / groupedResult) with the steered reader.
// Nothing imports it but the weaviate-asmr server.
package module
