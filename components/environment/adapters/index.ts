/**
 * Opens the port an adapter describes (seed 004 §4: the adapter is chosen by configuration). Local
 * paths resolve against the working directory (Pulumi's: the project directory).
 */
import * as path from "node:path";
import type { EventBus, ObjectStorage, VectorIndex } from "../ports";
import type { BrokerAdapter, StorageAdapter, VectorAdapter } from "../profile";
import { FilesystemStorage } from "./filesystem";
import { InMemoryIndex } from "./in-memory";
import { InProcessBus } from "./in-process";
import { NatsBus } from "./nats";
import { PgvectorIndex } from "./pgvector";
import { RabbitBus } from "./rabbitmq";
import { S3Storage } from "./s3";

export async function openStorage(a: StorageAdapter, secret: string): Promise<ObjectStorage> {
  switch (a.kind) {
    case "filesystem":
      return new FilesystemStorage(path.resolve(a.root));
    case "s3":
      return new S3Storage({ endpoint: a.endpoint, region: a.region, accessKeyId: a.accessKeyId, secretAccessKey: secret });
  }
}

export async function openBus(a: BrokerAdapter, secret: string): Promise<EventBus> {
  switch (a.kind) {
    case "in-process":
      return new InProcessBus(path.resolve(a.stateFile));
    case "nats":
      return NatsBus.open({ url: a.url, ...(a.username ? { username: a.username, password: secret } : {}) });
    case "rabbitmq":
      return new RabbitBus({ url: a.url, managementUrl: a.managementUrl, username: a.username, password: secret });
  }
}

export async function openIndex(a: VectorAdapter, secret: string): Promise<VectorIndex> {
  switch (a.kind) {
    case "in-memory":
      return new InMemoryIndex(path.resolve(a.stateFile));
    case "pgvector":
      return new PgvectorIndex({ url: a.url, schema: a.schema, username: a.username, password: secret });
  }
}
