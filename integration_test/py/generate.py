"""Runs generate queries with the official Python client (weaviate-client
v4, over gRPC) against a weaviate-asmr server and prints the results as one
JSON object on stdout. Started by integration_test/module_pyclient_test.go,
which compares them with the same queries over GraphQL.

Over gRPC a query cannot carry generative-asmr options (the gRPC API's
per-query provider options are a closed list of built-in modules): the
class's moduleConfig and the ops defaults apply.

Written for the weaviate-client pinned in requirements.txt (4.24.1): the
prompts are arguments of collection.generate.<search>(), an object's answer
is object.generative.text (object.generated is deprecated) and the grouped
answer response.generative.text.

Environment: WEAVIATE_HOST (default 127.0.0.1), WEAVIATE_HTTP_PORT,
WEAVIATE_GRPC_PORT, WEAVIATE_CLASS, SINGLE_PROMPT, GROUPED_TASK,
BM25_QUERY, NEAR_VECTOR (a JSON array of numbers), TARGET_VECTOR (default
"default").
"""

import json
import os
import sys


def env(name, fallback=None):
    v = os.environ.get(name, fallback)
    if v is None or v == "":
        raise SystemExit(f"{name} is not set")
    return v


host = env("WEAVIATE_HOST", "127.0.0.1")
http_port = int(env("WEAVIATE_HTTP_PORT"))
grpc_port = int(env("WEAVIATE_GRPC_PORT"))
class_name = env("WEAVIATE_CLASS")
single_prompt = env("SINGLE_PROMPT")
grouped_task = env("GROUPED_TASK")
bm25_query = env("BM25_QUERY")
near_vector = [float(x) for x in json.loads(env("NEAR_VECTOR"))]
target_vector = env("TARGET_VECTOR", "default")

# The server is local: keep a proxy in the environment (which grpcio and
# httpx both honour) away from it.
for var in ("no_proxy", "NO_PROXY"):
    os.environ[var] = ",".join(filter(None, [os.environ.get(var), host]))

import weaviate  # noqa: E402  (after the proxy settings)
from weaviate.classes.generate import GenerativeParameters  # noqa: E402
from weaviate.classes.init import AdditionalConfig, Timeout  # noqa: E402


def objects(res, debug=False):
    out = []
    for o in res.objects:
        g = o.generative
        obj = {
            "id": str(o.uuid),
            "title": o.properties.get("title"),
            "text": g.text if g is not None else None,
        }
        if debug:
            obj["debugPrompt"] = (
                g.debug.full_prompt if g is not None and g.debug is not None else None
            )
        out.append(obj)
    return out


def grouped(res):
    return res.generative.text if res.generative is not None else None


client = weaviate.connect_to_custom(
    http_host=host,
    http_port=http_port,
    http_secure=False,
    grpc_host=host,
    grpc_port=grpc_port,
    grpc_secure=False,
    additional_config=AdditionalConfig(timeout=Timeout(init=30, query=120, insert=120)),
    skip_init_checks=False,
)
try:
    server_version = client.get_meta()["version"]
    collection = client.collections.use(class_name)

    # bm25: every object gets its own answer (single_prompt, {title}
    # filled in from the object), and the three together one grouped
    # answer.
    both = collection.generate.bm25(
        query=bm25_query,
        limit=3,
        single_prompt=single_prompt,
        grouped_task=grouped_task,
        grouped_properties=["title", "text"],
    )

    # single_prompt alone, with the full prompt the reader saw. (Weaviate
    # 1.35 takes the debug flag of a request with both prompts from the
    # grouped part, which has none in this client.)
    single = collection.generate.bm25(
        query=bm25_query,
        limit=3,
        single_prompt=GenerativeParameters.single_prompt(single_prompt, debug=True),
    )

    # RAG over a vector search: both prompts on the two nearest objects.
    near = collection.generate.near_vector(
        near_vector,
        target_vector=target_vector,
        limit=2,
        single_prompt=single_prompt,
        grouped_task=grouped_task,
        grouped_properties=["title", "text"],
    )

    json.dump(
        {
            "clientVersion": weaviate.__version__,
            "serverVersion": server_version,
            "bm25": {"objects": objects(both), "grouped": grouped(both)},
            "single": {"objects": objects(single, debug=True)},
            "near": {"objects": objects(near), "grouped": grouped(near)},
        },
        sys.stdout,
        ensure_ascii=False,
    )
    sys.stdout.write("\n")
finally:
    client.close()
