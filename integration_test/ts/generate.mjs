// Runs generate queries with the official TypeScript/JavaScript client
// (weaviate-client, over gRPC) against a weaviate-asmr server and prints
// the results as one JSON object on stdout. Started by
// integration_test/module_clients_test.go, which compares them with the
// same queries over GraphQL.
//
// Over gRPC a query cannot carry generative-asmr options (the gRPC API's
// per-query provider options are a closed list of built-in modules): the
// class's moduleConfig and the ops defaults apply.
//
// Environment: WEAVIATE_HOST (default 127.0.0.1), WEAVIATE_HTTP_PORT,
// WEAVIATE_GRPC_PORT, WEAVIATE_CLASS, SINGLE_PROMPT, GROUPED_TASK,
// NEAR_OBJECT_ID.
import { readFileSync } from 'node:fs';
import weaviate from 'weaviate-client';

function env(name, fallback) {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    throw new Error(`${name} is not set`);
  }
  return v;
}

const host = env('WEAVIATE_HOST', '127.0.0.1');
const port = Number(env('WEAVIATE_HTTP_PORT'));
const grpcPort = Number(env('WEAVIATE_GRPC_PORT'));
const className = env('WEAVIATE_CLASS');
const singlePrompt = env('SINGLE_PROMPT');
const groupedTask = env('GROUPED_TASK');
const nearObjectId = env('NEAR_OBJECT_ID');

const clientPackage = JSON.parse(
  readFileSync(new URL('./node_modules/weaviate-client/package.json', import.meta.url), 'utf8'),
);

const client = await weaviate.connectToLocal({
  host,
  port,
  grpcPort,
  timeout: { init: 30, query: 120, insert: 120 },
});

function objects(res) {
  return res.objects.map((o) => ({
    id: o.uuid,
    title: o.properties.title,
    text: o.generative?.text ?? null,
    debugPrompt: o.generative?.debug?.fullPrompt ?? null,
  }));
}

try {
  const version = await client.getWeaviateVersion();
  const collection = client.collections.use(className);

  // Every object gets its own answer (singlePrompt, {title} filled in
  // from the object), and the three together one grouped answer.
  const both = await collection.generate.fetchObjects(
    { singlePrompt, groupedTask, groupedProperties: ['title', 'text'] },
    { limit: 3 },
  );

  // singlePrompt alone, with the full prompt the reader saw. (Weaviate
  // 1.35 takes the debug flag of a request with both singlePrompt and
  // groupedTask from the grouped part, which has none in this client.)
  const single = await collection.generate.fetchObjects(
    { singlePrompt: { prompt: singlePrompt, debug: true } },
    { limit: 3 },
  );

  // RAG over a vector search: the two nearest objects as passages.
  const near = await collection.generate.nearObject(
    nearObjectId,
    { groupedTask, groupedProperties: ['title', 'text'] },
    { limit: 2 },
  );

  process.stdout.write(
    JSON.stringify({
      clientVersion: clientPackage.version,
      serverVersion: version.show(),
      both: { objects: objects(both), grouped: both.generative?.text ?? null },
      single: { objects: objects(single) },
      near: { ids: near.objects.map((o) => o.uuid), grouped: near.generative?.text ?? null },
    }) + '\n',
  );
} finally {
  await client.close();
}
