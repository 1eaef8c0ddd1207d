// Tests of launcher.js with fake task binaries (POSIX shell scripts written at test time).
// Run: node --test task-manifests/test/*.test.js (or `cargo xtask test`, which runs everything)
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const LAUNCHER = path.join(__dirname, '..', 'launcher.js');
const { candidateDirs, versionLess } = require(LAUNCHER);
const posix = process.platform !== 'win32';
const PLATFORM_DIR = `${process.platform}-${process.arch}`;

// A task folder in a temporary directory: launcher.js, launcher.json and optionally a fake binary.
function taskFolder(t, { binary = 'fake-task', script, mode = 0o755, subdir = PLATFORM_DIR, config } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'amlops-launcher-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.copyFileSync(LAUNCHER, path.join(dir, 'launcher.js'));
  fs.writeFileSync(path.join(dir, 'launcher.json'), JSON.stringify(config || { binary }));
  let file = null;
  if (script !== undefined) {
    const binDir = path.join(dir, 'bin', subdir);
    fs.mkdirSync(binDir, { recursive: true });
    file = path.join(binDir, binary);
    fs.writeFileSync(file, `#!/bin/sh\n${script}\n`);
    fs.chmodSync(file, mode);
  }
  return { dir, file };
}

// Launchers still running (with their binaries, in the launcher's process group): a test that
// fails while one runs must not leave it holding this process's pipes open, or the test file would
// wait for it instead of reporting.
const running = new Set();
test.after(() => {
  for (const child of running) {
    try {
      process.kill(posix ? -child.pid : child.pid, 'SIGKILL');
    } catch (_) {
      // Already gone.
    }
  }
});

// Starts the launcher; resolves lines of stdout as they arrive and the exit status.
function runLauncher(dir, { env = {}, args = [] } = {}) {
  const child = spawn(process.execPath, [path.join(dir, 'launcher.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that the cleanup above reaches the binary too.
    detached: posix,
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const waiters = [];
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    for (const w of waiters.splice(0)) {
      if (stdout.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    exited,
    // Resolves once stdout contains `text` (no timing assumptions).
    waitFor(text) {
      if (stdout.includes(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ text, resolve });
        exited.then(() => reject(new Error(`exited before printing ${JSON.stringify(text)}: ${stdout}`)));
      });
    },
  };
}

test('the exit code is the binary exit code', { skip: !posix }, async (t) => {
  for (const code of [0, 3, 42]) {
    const { dir } = taskFolder(t, { script: `echo running; exit ${code}` });
    const result = await runLauncher(dir).exited;
    assert.strictEqual(result.code, code, result.stdout + result.stderr);
    assert.match(result.stdout, /running/);
  }
});

test('the binary inherits the environment and the arguments', { skip: !posix }, async (t) => {
  const { dir } = taskFolder(t, { script: 'echo "input=$INPUT_JOBFILE secret=$SECRET_X args=$*"' });
  const result = await runLauncher(dir, {
    env: { INPUT_JOBFILE: 'job.yml', SECRET_X: 's3' },
    args: ['a', 'b'],
  }).exited;
  assert.strictEqual(result.code, 0);
  assert.match(result.stdout, /input=job\.yml secret=s3 args=a b/);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  test(`${sig} sent to the launcher reaches the binary`, { skip: !posix, timeout: 30000 }, async (t) => {
    const name = sig.slice(3);
    const { dir } = taskFolder(t, {
      // The binary waits on a background sleep so that the trap runs as soon as the signal arrives.
      script: [
        `trap 'echo "got-${name}" > "$MARKER"; kill $pid 2>/dev/null; echo cancelled; exit 42' ${name}`,
        'sleep 600 &',
        'pid=$!',
        'echo ready',
        'wait $pid',
        'echo not-cancelled',
        'exit 0',
      ].join('\n'),
    });
    const marker = path.join(dir, 'marker');
    const run = runLauncher(dir, { env: { MARKER: marker } });
    await run.waitFor('ready');
    // Only the launcher's PID is signalled, as the agent does on Linux and macOS.
    process.kill(run.child.pid, sig);
    const result = await run.exited;
    assert.strictEqual(result.code, 42, result.stdout + result.stderr);
    assert.match(result.stdout, /cancelled/);
    assert.doesNotMatch(result.stdout, /not-cancelled/);
    assert.strictEqual(fs.readFileSync(marker, 'utf8').trim(), `got-${name}`);
  });
}

test('a binary killed by a signal gives a non-zero exit code', { skip: !posix }, async (t) => {
  const { dir } = taskFolder(t, { binary: 'crashy', script: 'kill -KILL $$' });
  const result = await runLauncher(dir).exited;
  assert.strictEqual(result.code, 128 + os.constants.signals.SIGKILL);
  assert.match(result.stdout, /##vso\[task\.logissue type=error\]crashy was terminated by SIGKILL/);
});

test('a missing binary is a task error naming the platform and architecture', async (t) => {
  const { dir } = taskFolder(t, { binary: 'amlops-train' });
  const result = await runLauncher(dir).exited;
  assert.strictEqual(result.code, 1);
  const line = result.stdout.split('\n').find((l) => l.startsWith('##vso[task.logissue type=error]'));
  assert.ok(line, result.stdout);
  assert.ok(line.includes(`platform ${process.platform}`), line);
  assert.ok(line.includes(`architecture ${process.arch}`), line);
  assert.ok(line.includes('amlops-train'), line);
  assert.ok(line.includes(path.join('bin', PLATFORM_DIR)), line);
});

test("docs/troubleshooting.md quotes the missing-binary message as the launcher prints it", async (t) => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'troubleshooting.md'), 'utf8');
  const section = doc.split('\n## ').find((s) => s.startsWith("No binary for the agent's platform"));
  assert.ok(section, 'the section exists');
  const quote = /```text\n([^\n]*)\n```/.exec(section);
  assert.ok(quote, section);
  const shape =
    /^This task has no (\S+) binary for platform (\S+), architecture (\S+) \(looked for (.+)\)\. Use an agent on a supported platform\.$/;
  const quoted = shape.exec(quote[1]);
  assert.ok(quoted, `the quote has the launcher's shape: ${quote[1]}`);
  const { dir } = taskFolder(t, { binary: quoted[1] });
  const result = await runLauncher(dir).exited;
  const prefix = '##vso[task.logissue type=error]';
  const line = result.stdout.split('\n').find((l) => l.startsWith(prefix));
  assert.ok(line, result.stdout);
  const printed = shape.exec(line.slice(prefix.length));
  assert.ok(printed, `the launcher prints the quoted shape: ${line}`);
  assert.strictEqual(printed[1], quoted[1]);
});

test('a binary for another platform only is reported as missing', { skip: !posix }, async (t) => {
  const { dir } = taskFolder(t, { script: 'exit 0', subdir: 'win32-x64' });
  const result = await runLauncher(dir).exited;
  assert.strictEqual(result.code, 1);
  assert.match(result.stdout, /##vso\[task\.logissue type=error\].*no fake-task binary/);
});

test('a binary without execute bits is made executable', { skip: !posix }, async (t) => {
  const { dir, file } = taskFolder(t, { script: 'echo started; exit 5', mode: 0o644 });
  assert.strictEqual(fs.statSync(file).mode & 0o111, 0);
  const result = await runLauncher(dir).exited;
  assert.strictEqual(result.code, 5, result.stdout + result.stderr);
  assert.match(result.stdout, /started/);
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o755);
});

test('a missing or malformed launcher.json is a task error', async (t) => {
  const { dir } = taskFolder(t, { config: { notBinary: 1 } });
  let result = await runLauncher(dir).exited;
  assert.strictEqual(result.code, 1);
  assert.match(result.stdout, /##vso\[task\.logissue type=error\].*launcher\.json must contain/);
  fs.rmSync(path.join(dir, 'launcher.json'));
  result = await runLauncher(dir).exited;
  assert.strictEqual(result.code, 1);
  assert.match(result.stdout, /##vso\[task\.logissue type=error\].*cannot read/);
});

test('the musl build is used when glibc is older than glibcMin', { skip: process.platform !== 'linux' }, async (t) => {
  const { dir } = taskFolder(t, {
    script: 'echo musl-build; exit 0',
    subdir: `${PLATFORM_DIR}-musl`,
    config: { binary: 'fake-task', glibcMin: '999.0' },
  });
  const bin = path.join(dir, 'bin', PLATFORM_DIR);
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'fake-task'), '#!/bin/sh\necho glibc-build\n', { mode: 0o755 });
  const result = await runLauncher(dir).exited;
  assert.strictEqual(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /musl-build/);
});

test('candidate folders by platform and C library', () => {
  assert.deepStrictEqual(candidateDirs('win32', 'x64', null, undefined), ['win32-x64']);
  assert.deepStrictEqual(candidateDirs('darwin', 'arm64', null, undefined), ['darwin-arm64']);
  assert.deepStrictEqual(candidateDirs('linux', 'x64', '2.39', undefined), ['linux-x64', 'linux-x64-musl']);
  assert.deepStrictEqual(candidateDirs('linux', 'x64', '2.39', '2.35'), ['linux-x64', 'linux-x64-musl']);
  assert.deepStrictEqual(candidateDirs('linux', 'x64', '2.28', '2.35'), ['linux-x64-musl', 'linux-x64']);
  assert.deepStrictEqual(candidateDirs('linux', 'arm64', null, '2.35'), ['linux-arm64-musl', 'linux-arm64']);
  assert.ok(versionLess('2.9', '2.35'));
  assert.ok(!versionLess('2.35', '2.35'));
  assert.ok(!versionLess('3.0', '2.35'));
});
