/**
 * Throw-away TLS material for a secured local broker and its tests, made with the openssl CLI
 * (node:crypto can sign nothing X.509): a CA, a broker certificate for localhost / 127.0.0.1
 * signed by it, a client certificate whose key is encrypted with a passphrase (to exercise
 * kafka.ssl.keyPasswordFile), and a second, unrelated CA that a test can trust instead to see an
 * untrusted broker refused. Every file is PEM; keys are PKCS#8, which Kafka's PEM keystores read.
 * Valid for two days: long enough for any run, useless afterwards.
 *
 *   const tls = createTestCertificates({ dir })
 *   tls.caFile, tls.brokerKeystoreFile (key + chain), tls.clientCertFile, tls.clientKeyFile,
 *   tls.clientKeyPassword, tls.clientKeyPasswordFile, tls.otherCaFile, tls.brokerCommonName
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const DAYS = '2';
/** P-256 keys: generated in milliseconds (RSA takes a visible fraction of a second each). */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function openssl(args, { cwd }) {
  const result = spawnSync(process.env.OPENSSL || 'openssl', args, {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error || result.status !== 0) {
    const reason = result.error ? result.error.message : (result.stderr || '').trim();
    throw new Error(
      `openssl ${args[0]} failed: ${reason} (fix: install the openssl CLI (apt-get install openssl) or set OPENSSL to its path)`,
    );
  }
}

function selfSignedCa({ cwd, name, commonName }) {
  openssl(
    [
      'req',
      '-x509',
      ...NEW_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      DAYS,
      '-subj',
      `/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { cwd },
  );
}

/** A key and a certificate for `commonName` signed by the CA `ca`, with the given extensions. */
function signedLeaf({ cwd, name, commonName, ca, extensions }) {
  openssl(
    [
      'req',
      ...NEW_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${commonName}`,
    ],
    { cwd },
  );
  fs.writeFileSync(path.join(cwd, `${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      DAYS,
      '-extfile',
      `${name}.ext`,
    ],
    { cwd },
  );
}

/**
 * Writes the CA, broker and client material into `dir` (created if missing) and returns the paths.
 * The broker certificate also serves as the broker's client certificate on its own controller
 * listener, so its subject (`User:CN=<brokerCommonName>`) is the principal to make a super user.
 */
export function createTestCertificates({ dir, brokerCommonName = 'rnnstream-test-broker' }) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cwd = dir;
  selfSignedCa({ cwd, name: 'ca', commonName: 'rnnstream test CA' });
  selfSignedCa({ cwd, name: 'other-ca', commonName: 'some other CA' });
  signedLeaf({
    cwd,
    name: 'broker',
    commonName: brokerCommonName,
    ca: 'ca',
    extensions: [
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
    ],
  });
  signedLeaf({
    cwd,
    name: 'client',
    commonName: 'rnnstream-test-client',
    ca: 'ca',
    extensions: ['keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'],
  });
  // The client key encrypted (PKCS#8, AES-256), as a key from a real PKI often is.
  const clientKeyPassword = randomBytes(12).toString('hex');
  const clientKeyPasswordFile = path.join(dir, 'client.key.password');
  fs.writeFileSync(clientKeyPasswordFile, `${clientKeyPassword}\n`, { mode: 0o600 });
  openssl(
    [
      'pkcs8',
      '-topk8',
      '-v2',
      'aes-256-cbc',
      '-in',
      'client.key',
      '-out',
      'client.encrypted.key',
      '-passout',
      `file:${clientKeyPasswordFile}`,
    ],
    { cwd },
  );
  // Kafka's PEM keystore: the private key, then the certificate chain (leaf first).
  const brokerKeystoreFile = path.join(dir, 'broker.keystore.pem');
  fs.writeFileSync(
    brokerKeystoreFile,
    ['broker.key', 'broker.pem', 'ca.pem'].map((f) => fs.readFileSync(path.join(dir, f))).join(''),
    { mode: 0o600 },
  );
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    otherCaFile: path.join(dir, 'other-ca.pem'),
    brokerKeystoreFile,
    brokerCommonName,
    clientCertFile: path.join(dir, 'client.pem'),
    clientKeyFile: path.join(dir, 'client.encrypted.key'),
    clientKeyPassword,
    clientKeyPasswordFile,
  };
}
