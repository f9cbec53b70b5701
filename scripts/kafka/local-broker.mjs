/**
 * A single-node Kafka broker for development and tests, without Docker: the broker jars come from
 * Maven Central (scripts/kafka/pom.xml, collected once into the cache) and run on the local Java.
 *
 *   prepareKafkaJars()   collect the jars into <cache>/kafka/kafka-<version>/libs (idempotent; fast
 *                        when cached: a marker file records the pom it was built from)
 *   startLocalBroker()   format a fresh KRaft log dir, start `kafka.Kafka` in combined mode
 *                        (broker + controller, node 1) on 127.0.0.1, wait until a kafkajs admin
 *                        client lists topics, and return { brokers, stop() }
 *
 * A watchdog shell process (detached, started with the broker) sends SIGTERM and then SIGKILL to
 * the broker if the Node process that started it goes away without calling stop() (a crashed or
 * killed test run), and removes the temporary run directory, so no broker is ever left behind.
 *
 * With `security`, the broker is secured as a production one would be: its only client listener is
 * SASL_SSL (TLS with the given certificates; SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for the
 * given users, SCRAM credentials written at format time), the controller listener is mutual TLS,
 * and the StandardAuthorizer allows nothing but what ACLs grant (the admin user and the broker's
 * own certificate are super users). See secureServerProperties.
 *
 * Environment: KAFKA_PORT (broker port; default a free one), RNNSTREAM_CACHE_DIR (default
 * $XDG_CACHE_HOME/rnnstream or ~/.cache/rnnstream), RNNSTREAM_KAFKA_JAVA_OPTS (extra JVM options),
 * JAVA (java executable, default `java` on the PATH), MVN (maven executable, default `mvn`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAFKA_VERSION = '3.9.2';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const POM = path.join(HERE, 'pom.xml');
const MARKER = '.complete';

const defaultLog = (message) => process.stderr.write(`[kafka] ${message}\n`);

/** <cache>/kafka, the same cache root as scripts/setup-tensorflow.mjs. */
export function kafkaCacheDir() {
  if (process.env.RNNSTREAM_CACHE_DIR) return path.join(process.env.RNNSTREAM_CACHE_DIR, 'kafka');
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'rnnstream', 'kafka');
}

function pomDigest() {
  return createHash('sha256').update(fs.readFileSync(POM)).digest('hex');
}

function checkTool(command, args, what, fix) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error || result.status !== 0) {
    const reason = result.error
      ? result.error.message
      : `exit status ${result.status}: ${(result.stderr || '').trim().split('\n')[0]}`;
    throw new Error(
      `${what} ('${command} ${args.join(' ')}') is not usable: ${reason} (fix: ${fix})`,
    );
  }
}

/**
 * Collects the broker jars with Maven into <cache>/kafka/kafka-<version>/libs, once. Returns the
 * libs directory, whether anything was downloaded and how long it took.
 */
export async function prepareKafkaJars({ log = defaultLog } = {}) {
  const started = Date.now();
  const libsDir = path.join(kafkaCacheDir(), `kafka-${KAFKA_VERSION}`, 'libs');
  const digest = pomDigest();
  const markerPath = path.join(libsDir, MARKER);
  if (fs.existsSync(markerPath) && fs.readFileSync(markerPath, 'utf8').trim() === digest) {
    return { libsDir, downloaded: false, seconds: (Date.now() - started) / 1000 };
  }

  const mvn = process.env.MVN || 'mvn';
  checkTool(
    mvn,
    ['-v'],
    'Maven',
    'install Maven 3 (apt-get install maven), or set KAFKA_BROKERS to a running broker',
  );
  log(
    `collecting the Kafka ${KAFKA_VERSION} broker jars with Maven into ${libsDir} (once; about 46 MB) ...`,
  );
  const partial = `${libsDir}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  const args = [
    '-B',
    '-q',
    '-f',
    POM,
    'dependency:copy-dependencies',
    `-DoutputDirectory=${partial}`,
  ];
  const output = [];
  const status = await new Promise((resolve, reject) => {
    const child = spawn(mvn, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    const ticker = setInterval(
      () => log(`... still collecting jars (${Math.round((Date.now() - started) / 1000)} s)`),
      15_000,
    );
    child.on('error', (error) => {
      clearInterval(ticker);
      reject(error);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      resolve(code);
    });
  });
  if (status !== 0) {
    fs.rmSync(partial, { recursive: true, force: true });
    const tail = Buffer.concat(output).toString('utf8').trim().split('\n').slice(-25).join('\n');
    throw new Error(
      `Maven could not collect the Kafka broker jars (exit status ${status}; command: ${mvn} ${args.join(' ')}):\n${tail}\n` +
        '(fix: check that Maven Central is reachable (mvn -v; a proxy in ~/.m2/settings.xml), or set KAFKA_BROKERS to a running broker)',
    );
  }
  const jars = fs.readdirSync(partial).filter((name) => name.endsWith('.jar'));
  if (!jars.some((name) => name.startsWith(`kafka_2.13-${KAFKA_VERSION}`))) {
    throw new Error(
      `Maven finished but ${partial} holds no kafka_2.13-${KAFKA_VERSION}.jar (fix: run the mvn command above by hand and read its output)`,
    );
  }
  fs.writeFileSync(path.join(partial, MARKER), `${digest}\n`);
  // Replace atomically enough for two concurrent preparers: the loser finds a complete directory.
  fs.rmSync(libsDir, { recursive: true, force: true });
  try {
    fs.mkdirSync(path.dirname(libsDir), { recursive: true });
    fs.renameSync(partial, libsDir);
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    if (!fs.existsSync(markerPath)) throw error;
  }
  const bytes = jars.reduce((sum, name) => sum + fs.statSync(path.join(libsDir, name)).size, 0);
  const seconds = (Date.now() - started) / 1000;
  log(`collected ${jars.length} jars (${(bytes / 1e6).toFixed(0)} MB) in ${seconds.toFixed(1)} s`);
  return { libsDir, downloaded: true, seconds };
}

/** A TCP port that was free on 127.0.0.1 a moment ago (`port` 0: any). Rejects if `port` is taken. */
export function freePort(port = 0) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => {
      const { port: bound } = server.address();
      server.close(() => resolve(bound));
    });
  });
}

function serverProperties({ port, controllerPort, dataDir, security }) {
  const listener = security === undefined ? 'PLAINTEXT' : 'SASL_SSL';
  return [
    '# written by scripts/kafka/local-broker.mjs: single-node KRaft (broker + controller), loopback only',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=${listener}://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=${listener}://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    `inter.broker.listener.name=${listener}`,
    security === undefined
      ? 'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'
      : 'listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL',
    ...(security === undefined ? [] : secureServerProperties(security)),
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    // One partition for the internal topics: the first consumer group / transaction is much faster.
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'num.network.threads=2',
    'num.io.threads=4',
    // The log cleaner (compacted topics) would otherwise reserve 128 MB of the heap.
    'log.cleaner.dedupe.buffer.size=16777216',
    '',
  ].join('\n');
}

/** Names and passwords go into JAAS and --add-scram syntax unquoted: keep them to safe characters. */
const CREDENTIAL = /^[A-Za-z0-9._-]{1,128}$/;

function checkSecurity(security) {
  const { tls, admin, users = [], clientAuth = 'none' } = security;
  for (const key of ['caFile', 'brokerKeystoreFile', 'brokerCommonName'])
    if (typeof tls?.[key] !== 'string')
      throw new Error(
        `security.tls.${key} is missing (fix: pass the result of createTestCertificates() from scripts/kafka/certificates.mjs)`,
      );
  for (const user of [admin, ...users])
    if (!CREDENTIAL.test(user?.name ?? '') || !CREDENTIAL.test(user?.password ?? ''))
      throw new Error(
        `security user ${JSON.stringify(user?.name)}: name and password must be 1-128 letters, digits, ".", "_" or "-" (fix: e.g. randomBytes(16).toString('hex') as the password)`,
      );
  if (!['none', 'requested', 'required'].includes(clientAuth))
    throw new Error(`security.clientAuth = ${clientAuth}: expected none, requested or required`);
  return { tls, admin, users, clientAuth };
}

/**
 * The SASL_SSL listener (PLAIN users in its JAAS line, SCRAM users formatted into the metadata),
 * the mutual-TLS controller listener (the broker presents its own certificate to its controller,
 * so that certificate's principal is a super user), PEM keystore and truststore, and the
 * StandardAuthorizer: without an ACL only super users may do anything.
 */
function secureServerProperties({ tls, admin, users, clientAuth }) {
  const plainUsers = [admin, ...users].map((u) => `user_${u.name}="${u.password}"`).join(' ');
  return [
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol=PLAIN',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${admin.name}" password="${admin.password}" ${plainUsers};`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    `listener.name.sasl_ssl.ssl.client.auth=${clientAuth}`,
    'listener.name.controller.ssl.client.auth=required',
    'ssl.keystore.type=PEM',
    `ssl.keystore.location=${tls.brokerKeystoreFile}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${tls.caFile}`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    `super.users=User:${admin.name};User:CN=${tls.brokerCommonName}`,
    'allow.everyone.if.no.acl.found=false',
    // A refused login is answered after this delay (Kafka's default 100 ms): keeps tests quick.
    'connection.failed.authentication.delay.ms=100',
  ];
}

/** `--add-scram` arguments of kafka-storage format: both SCRAM mechanisms for every user. */
function scramFormatArguments({ admin, users }) {
  return [admin, ...users].flatMap((u) =>
    ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
      '--add-scram',
      `${mechanism}=[name=${u.name},password=${u.password}]`,
    ]),
  );
}

/** How the readiness probe (a kafkajs admin) connects: as the admin user over TLS, if secured. */
function probeConnection(security) {
  if (security === undefined) return {};
  return {
    ssl: {
      ca: [fs.readFileSync(security.tls.caFile)],
      ...(security.clientAuth === 'required'
        ? {
            cert: fs.readFileSync(security.tls.clientCertFile),
            key: fs.readFileSync(security.tls.clientKeyFile),
            passphrase: security.tls.clientKeyPassword,
          }
        : {}),
    },
    sasl: { mechanism: 'plain', username: security.admin.name, password: security.admin.password },
  };
}

function log4jProperties({ logFile }) {
  return [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${logFile}`,
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.state.change.logger=WARN',
    'log4j.logger.kafka.log.LogCleaner=INFO',
    'log4j.logger.org.apache.kafka.raft=WARN',
    'log4j.logger.org.apache.kafka.controller=INFO',
    '',
  ].join('\n');
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path.basename(file)})`;
  }
}

/** Ports and cluster id of the broker that ran in `runDir` (resume), or an error with the fix. */
function resumable(runDir) {
  const read = (file) => {
    try {
      return fs.readFileSync(path.join(runDir, file), 'utf8');
    } catch {
      throw new Error(
        `cannot resume a broker from ${runDir}: ${file} is missing (fix: give the logDir of a broker that was started and stopped)`,
      );
    }
  };
  const properties = read('server.properties');
  const port = Number(/^listeners=[A-Z_]+:\/\/[^:]+:(\d+)/m.exec(properties)?.[1]);
  const controllerPort = Number(/CONTROLLER:\/\/[^:]+:(\d+)/m.exec(properties)?.[1]);
  const cluster = /^cluster\.id=(.+)$/m.exec(read('data/meta.properties'))?.[1]?.trim();
  if (!port || !controllerPort || !cluster)
    throw new Error(
      `cannot resume a broker from ${runDir}: its server.properties or meta.properties is not ours`,
    );
  return { port, controllerPort, cluster };
}

/**
 * A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (what `random-uuid` prints);
 * like Kafka's Uuid.randomUuid(), never one that starts with '-' (it would read as an option).
 */
function clusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const WATCHDOG = `
parent=$1; child=$2; dir=$3; remove=$4
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
if kill -0 "$child" 2>/dev/null; then
  kill -TERM "$child" 2>/dev/null; i=0
  while kill -0 "$child" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.5; i=$((i+1)); done
  kill -KILL "$child" 2>/dev/null
fi
if [ "$remove" = 1 ]; then sleep 0.5; rm -rf "$dir"; fi
`;

/**
 * Starts a fresh single-node KRaft broker on 127.0.0.1.
 *
 * @param {object} [options]
 * @param {number} [options.port] broker port (default $KAFKA_PORT, else a free port)
 * @param {string} [options.logDir] run directory (data in data/, broker log in broker.log); must be
 *   absent or empty, and is kept after stop. Default: a new temporary directory, removed by stop().
 * @param {boolean} [options.resume] start again on the data of an earlier broker of `logDir` (its
 *   port, controller port and cluster id), as a restarted broker does: nothing is formatted
 * @param {number} [options.heapMb] JVM heap (default 512)
 * @param {number} [options.readyTimeoutMs] how long to wait for the broker (default 90 000)
 * @param {number} [options.stopTimeoutMs] SIGTERM grace period before SIGKILL (default 20 000)
 * @param {(message: string) => void} [options.log] progress lines (default stderr)
 * @param {object} [options.security] a SASL_SSL-only broker with ACLs instead of PLAINTEXT:
 *   `tls` (createTestCertificates() of certificates.mjs), `admin` ({ name, password }: a super
 *   user, also the broker's own PLAIN login), `users` (more { name, password }: each can log in
 *   with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and may do what ACLs grant it), `clientAuth`
 *   ('none' | 'requested' | 'required': client certificates on the SASL_SSL listener)
 * @returns {Promise<{ brokers: string, port: number, runDir: string, pid: number, startSeconds: number, stop(): Promise<void> }>}
 */
export async function startLocalBroker({
  port,
  logDir,
  resume = false,
  heapMb = 512,
  readyTimeoutMs = 90_000,
  stopTimeoutMs = 20_000,
  log = defaultLog,
  security: requestedSecurity,
} = {}) {
  const security = requestedSecurity === undefined ? undefined : checkSecurity(requestedSecurity);
  const java = process.env.JAVA || 'java';
  checkTool(
    java,
    ['-version'],
    'Java',
    'install a Java 17+ runtime (apt-get install openjdk-17-jre-headless), or set KAFKA_BROKERS to a running broker',
  );
  const { libsDir } = await prepareKafkaJars({ log });
  const started = Date.now();

  const ownsRunDir = logDir === undefined;
  let runDir;
  if (resume && ownsRunDir)
    throw new Error('resume needs the logDir of the earlier broker (fix: pass logDir)');
  if (ownsRunDir) {
    runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnstream-kafka-'));
  } else {
    runDir = path.resolve(logDir);
    if (!resume && fs.existsSync(runDir) && fs.readdirSync(runDir).length > 0) {
      throw new Error(
        `Kafka run directory ${runDir} is not empty (fix: give a new or empty directory; every run starts from a fresh log dir)`,
      );
    }
    fs.mkdirSync(runDir, { recursive: true });
  }
  const removeRunDir = () => {
    if (ownsRunDir) fs.rmSync(runDir, { recursive: true, force: true });
  };

  try {
    const envPort = process.env.KAFKA_PORT ? Number(process.env.KAFKA_PORT) : undefined;
    if (envPort !== undefined && !(Number.isInteger(envPort) && envPort > 0 && envPort < 65536)) {
      throw new Error(
        `KAFKA_PORT=${process.env.KAFKA_PORT} is not a port number (fix: an integer 1..65535, or unset it for a free port)`,
      );
    }
    const earlier = resume ? resumable(runDir) : undefined;
    const requested = earlier?.port ?? port ?? envPort;
    if (requested !== undefined) {
      await freePort(requested).catch((error) => {
        throw new Error(
          `port ${requested} on 127.0.0.1 is not free (${error.code ?? error.message}) (fix: stop what listens there — another local broker? — or choose another port with --port / KAFKA_PORT, or none for a free one)`,
        );
      });
    }
    const brokerPort = requested ?? (await freePort());
    let controllerPort = earlier?.controllerPort ?? (await freePort());
    while (controllerPort === brokerPort) controllerPort = await freePort();

    const dataDir = path.join(runDir, 'data');
    const propertiesFile = path.join(runDir, 'server.properties');
    const log4jFile = path.join(runDir, 'log4j.properties');
    const logFile = path.join(runDir, 'broker.log');
    const outFile = path.join(runDir, 'broker.out');
    if (!earlier) {
      fs.writeFileSync(
        propertiesFile,
        serverProperties({ port: brokerPort, controllerPort, dataDir, security }),
      );
      fs.writeFileSync(log4jFile, log4jProperties({ logFile }));
    }

    const classpath = `${libsDir}${path.sep}*`;
    const jvmCommon = [
      `-Dlog4j.configuration=file:${log4jFile}`,
      `-Dkafka.logs.dir=${runDir}`,
      '-Djava.awt.headless=true',
    ];
    const extra = (process.env.RNNSTREAM_KAFKA_JAVA_OPTS || '').split(/\s+/).filter(Boolean);

    const cluster = earlier?.cluster ?? clusterId();
    // 1. Format the fresh log dir (static quorum: controller.quorum.voters, so no --standalone).
    const format = earlier
      ? { status: 0, stdout: '', stderr: '' }
      : spawnSync(
          java,
          [
            '-Xmx256m',
            '-XX:TieredStopAtLevel=1',
            ...jvmCommon,
            '-cp',
            classpath,
            'kafka.tools.StorageTool',
            'format',
            `--cluster-id=${cluster}`,
            `--config=${propertiesFile}`,
            ...(security === undefined ? [] : scramFormatArguments(security)),
          ],
          { encoding: 'utf8', timeout: 60_000 },
        );
    if (format.status !== 0) {
      // The command line holds the SCRAM passwords of a secured broker: only its output is shown.
      throw new Error(
        `kafka-storage format failed (exit status ${format.status}):\n${format.stdout}${format.stderr}\nBroker log: ${tail(logFile, 20)}`,
      );
    }

    // 2. Start the broker. Its stdout/stderr go to broker.out, log4j to broker.log.
    const out = fs.openSync(outFile, 'a');
    const child = spawn(
      java,
      [
        `-Xms${Math.min(256, heapMb)}m`,
        `-Xmx${heapMb}m`,
        '-XX:+UseG1GC',
        '-XX:MaxGCPauseMillis=20',
        '-XX:+ExitOnOutOfMemoryError',
        ...jvmCommon,
        ...extra,
        '-cp',
        classpath,
        'kafka.Kafka',
        propertiesFile,
      ],
      { stdio: ['ignore', out, out] },
    );
    fs.closeSync(out);
    // The broker does not keep this process alive by itself (a test file that forgot stop() still
    // exits; the exit hook and the watchdog below then end the broker).
    child.unref();
    let exited = null;
    let stopping;
    const exitPromise = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        exited = { code, signal };
        // Said before the watchdog removes the run directory: why a broker nobody stopped ended.
        if (stopping === undefined)
          log(
            `broker exited without stop() (code ${code}, signal ${signal}); broker.out: ${tail(outFile, 10)}\nbroker.log: ${tail(logFile, 10)}`,
          );
        resolve(exited);
      });
      child.on('error', (error) => {
        exited = { code: null, signal: null, error };
        resolve(exited);
      });
    });

    const watchdog = spawn(
      'sh',
      [
        '-c',
        WATCHDOG,
        'kafka-watchdog',
        String(process.pid),
        String(child.pid),
        runDir,
        ownsRunDir ? '1' : '0',
      ],
      {
        detached: true,
        stdio: 'ignore',
      },
    );
    watchdog.unref();

    // A process that exits without stop() (e.g. a test runner's process.exit) still ends the broker
    // at once; the watchdog escalates to SIGKILL and removes the run directory.
    const onExit = () => {
      if (exited === null) {
        try {
          child.kill('SIGTERM');
        } catch {
          /* already gone */
        }
      }
    };
    process.on('exit', onExit);

    const stop = () => {
      stopping ??= (async () => {
        process.off('exit', onExit);
        if (exited === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => {
            if (exited === null) {
              log(
                `broker did not stop within ${stopTimeoutMs / 1000} s of SIGTERM; sending SIGKILL`,
              );
              child.kill('SIGKILL');
            }
          }, stopTimeoutMs);
          await exitPromise;
          clearTimeout(timer);
        }
        try {
          if (watchdog.pid) process.kill(watchdog.pid, 'SIGTERM');
        } catch {
          /* watchdog already gone */
        }
        removeRunDir();
      })();
      return stopping;
    };

    const brokers = `127.0.0.1:${brokerPort}`;
    log(
      `starting Kafka ${KAFKA_VERSION} (KRaft, pid ${child.pid}${security ? ', SASL_SSL + ACLs' : ''}) on ${brokers}; run dir ${runDir}`,
    );
    try {
      await waitUntilReady({
        brokers,
        connection: probeConnection(security),
        cluster,
        readyTimeoutMs,
        isExited: () => exited,
        logFile,
        outFile,
      });
    } catch (error) {
      await stop();
      throw error;
    }
    const startSeconds = (Date.now() - started) / 1000;
    log(`broker ready on ${brokers} after ${startSeconds.toFixed(1)} s`);
    return { brokers, port: brokerPort, runDir, pid: child.pid, startSeconds, stop };
  } catch (error) {
    removeRunDir();
    throw error;
  }
}

/** Polls with a kafkajs admin client until listTopics() answers and the cluster id is the one formatted. */
async function waitUntilReady({
  brokers,
  connection,
  cluster,
  readyTimeoutMs,
  isExited,
  logFile,
  outFile,
}) {
  const { default: kafkajs } = await import('kafkajs');
  const kafka = new kafkajs.Kafka({
    clientId: 'rnnstream-local-broker-probe',
    brokers: [brokers],
    ...connection,
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + readyTimeoutMs;
  let lastError = 'no attempt yet';
  for (;;) {
    const exited = isExited();
    if (exited !== null) {
      throw new Error(
        `Kafka broker exited before it was ready (${exited.error ? exited.error.message : `code ${exited.code}, signal ${exited.signal}`}).\n` +
          `--- last lines of ${logFile}:\n${tail(logFile, 30)}\n--- ${outFile}:\n${tail(outFile, 15)}\n` +
          '(fix: read the broker log above; a port in use means another broker runs: set KAFKA_PORT or stop it)',
      );
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
      // Our broker, not another one that holds the port: the cluster id is the one we formatted.
      const { clusterId: answered } = await admin.describeCluster();
      if (answered !== cluster) {
        throw new Error(
          `the broker at ${brokers} belongs to cluster ${answered}, not to the one just formatted (${cluster})`,
        );
      }
      await admin.disconnect();
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Kafka broker on ${brokers} not ready after ${readyTimeoutMs / 1000} s (last error: ${lastError}).\n` +
          `--- last lines of ${logFile}:\n${tail(logFile, 30)}\n--- ${outFile}:\n${tail(outFile, 15)}\n` +
          '(fix: read the broker log above; on a loaded machine raise readyTimeoutMs)',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
