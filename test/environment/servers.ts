/**
 * Real servers for the environment reconcilers, started by the tests on 127.0.0.1 only, each in its
 * own temporary directory, with bounded waits, and stopped by process id in `after`:
 *  - nats-server -js (Debian nats-server), JetStream store in the tmp dir;
 *  - rabbitmq-server (Debian), private mnesia/log dirs, node name, AMQP, distribution, management
 *    and epmd ports (epmd is a private one on a private port, killed afterwards);
 *  - s3rver (npm), with the server's own request log captured;
 *  - PGlite with pgvector (npm), served over the Postgres wire protocol by pglite-socket.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { findTool, skipOrFail } from "../support/tools";

export const tmpDir = (prefix: string): string => mkdtempSync(path.join(os.tmpdir(), `kubedos-env-${prefix}-`));

/** A free TCP port on 127.0.0.1 (bound and released; the servers bind it right after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Poll `ready` every 200 ms until it is true or `ms` pass (then throw with `what`). */
export async function waitFor(what: string, ms: number, ready: () => Promise<boolean>, died?: () => string | undefined): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const why = died?.();
    if (why) throw new Error(`${what}: ${why}`);
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not ready within ${ms} ms`);
}

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

/** Stop a process group started with detached: TERM, then KILL after `graceMs`; resolves when it exited. */
async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- nats-server

export interface NatsServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startNats(ctx: Mocha.Context): Promise<NatsServer> {
  const bin = findTool("nats-server") ?? skipOrFail(ctx, "nats-server is not installed (Debian package nats-server)");
  const dir = tmpDir("nats");
  const port = await freePort();
  const child = spawn(bin, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", path.join(dir, "js"), "-n", "kubedos-test"], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  try {
    await waitFor(
      "nats-server",
      10000,
      () => portOpen(port),
      () => (child.exitCode !== null ? `exited ${child.exitCode}: ${err}` : undefined),
    );
  } catch (e) {
    await stopGroup(child, 2000);
    throw e;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await stopGroup(child, 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- rabbitmq-server

export interface RabbitServer {
  url: string;
  managementUrl: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

const RABBIT_BIN = "/usr/lib/rabbitmq/bin/rabbitmq-server";

export async function startRabbit(ctx: Mocha.Context, password: string): Promise<RabbitServer> {
  // The Debian wrapper (/usr/sbin/rabbitmq-server) switches to the rabbitmq user and its global
  // dirs; the script underneath runs with the private environment below.
  const bin = findTool("rabbitmq-server")
    ? RABBIT_BIN
    : skipOrFail(ctx, "rabbitmq-server is not installed (Debian package rabbitmq-server)");
  const dir = tmpDir("rabbitmq");
  const [amqp, mgmt, dist, epmd] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const username = "kubedos";
  writeFileSync(
    path.join(dir, "rabbitmq.conf"),
    [
      `listeners.tcp.default = 127.0.0.1:${amqp}`,
      `management.tcp.ip = 127.0.0.1`,
      `management.tcp.port = ${mgmt}`,
      `default_user = ${username}`,
      `default_pass = ${password}`,
      `loopback_users = none`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  // The management API is how the adapter reads topology; the event exchange is how the tests
  // watch, on the server, for every object created or deleted.
  writeFileSync(path.join(dir, "enabled_plugins"), "[rabbitmq_management,rabbitmq_event_exchange].\n");
  const node = `kubedos-test-${process.pid}@localhost`;
  const env = {
    PATH: "/usr/lib/rabbitmq/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    HOME: dir, // the Erlang cookie goes here, not into root's home
    LANG: "C.UTF-8",
    RABBITMQ_MNESIA_BASE: path.join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: path.join(dir, "log"),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
    RABBITMQ_DIST_PORT: String(dist),
    RABBITMQ_CONFIG_FILE: path.join(dir, "rabbitmq.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, "enabled_plugins"),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, "rabbitmq-env.conf"), // absent: /etc/rabbitmq's is not read
    RABBITMQ_PID_FILE: path.join(dir, "pid"),
    ERL_EPMD_PORT: String(epmd),
    ERL_EPMD_ADDRESS: "127.0.0.1",
  };
  const child = spawn(bin, [], { detached: true, env, cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  const stop = async () => {
    await stopGroup(child, 15000);
    // The private epmd outlives the node (it daemonizes); with no node left it accepts -kill.
    spawnSync("epmd", ["-kill"], { env: { ...env }, timeout: 5000, stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  const managementUrl = `http://127.0.0.1:${mgmt}`;
  const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  try {
    await waitFor(
      "rabbitmq-server",
      45000,
      async () => (await fetch(`${managementUrl}/api/overview`, { headers: { authorization: auth } })).ok && (await portOpen(amqp)),
      () => (child.exitCode !== null ? `exited ${child.exitCode}: ${err}` : undefined),
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { url: `amqp://127.0.0.1:${amqp}/`, managementUrl, username, password, stop };
}

// ---------------------------------------------------------------- s3rver

export interface S3Server {
  endpoint: string;
  /** `METHOD /path?query` of every request the server received, in order. */
  requests: string[];
  stop(): Promise<void>;
}

/** s3rver's fixed credentials (it checks signatures against them). */
export const S3RVER_KEY = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

export async function startS3rver(): Promise<S3Server> {
  const S3rver = require("s3rver") as new (opts: Record<string, unknown>) => {
    middleware: Array<(ctx: { method: string; url: string }, next: () => Promise<void>) => Promise<void>>;
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
  };
  const dir = tmpDir("s3rver");
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir });
  const requests: string[] = [];
  // First in the server's middleware chain: every request it receives, as it receives it.
  server.middleware.unshift(async (ctx, next) => {
    requests.push(`${ctx.method} ${ctx.url}`);
    await next();
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- PGlite + pgvector

export interface PgServer {
  url: string;
  /** The same database, queried in process (assertions do not take the server's one connection). */
  db: { query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }> };
  stop(): Promise<void>;
}

export async function startPglite(): Promise<PgServer> {
  const { PGlite } = await import("@electric-sql/pglite");
  // pglite's own build of the pgvector extension (a dependency of @electric-sql/pglite).
  const { vector } = await import("@electric-sql/pglite-pgvector" as string);
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create({ extensions: { vector } });
  const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1" });
  await server.start();
  return {
    url: `postgres://${server.getServerConn()}/postgres`,
    db: db as unknown as PgServer["db"],
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
