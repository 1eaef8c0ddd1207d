// amlops task launcher: starts the task's native binary for this platform.
//
// The agent runs this file with its own Node (20 or 24). It must not use npm packages and must not import
// azure-pipelines-task-lib (that library deletes the INPUT_/ENDPOINT_/SECRET_ variables the binary needs).
//
// Layout next to this file (one task folder of the extension):
//   launcher.json                      {"binary": "amlops-train", "glibcMin": "2.35"?}
//   bin/<platform>-<arch>/<binary>     e.g. bin/linux-x64/amlops-train, bin/win32-x64/amlops-train.exe
//   bin/linux-<arch>-musl/<binary>     optional static build, used on musl systems (Alpine containers)
//                                      and on glibc systems older than glibcMin
'use strict';

const fs = require('fs');
const path = require('path');
const os = require('os');
const childProcess = require('child_process');

function logError(message) {
  // Property-less logissue: only the message needs encoding (%, CR, LF).
  const encoded = String(message)
    .replace(/%/g, '%AZP25')
    .replace(/\r/g, '%0D')
    .replace(/\n/g, '%0A');
  process.stdout.write(`##vso[task.logissue type=error]${encoded}\n`);
}

function fail(message) {
  logError(message);
  process.exitCode = 1;
}

function readConfig(dir) {
  const file = path.join(dir, 'launcher.json');
  let config;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`amlops launcher: cannot read ${file}: ${err.message}`);
  }
  if (!config || typeof config.binary !== 'string' || !/^[A-Za-z0-9._-]+$/.test(config.binary)) {
    throw new Error(`amlops launcher: ${file} must contain {"binary": "<file name>"}`);
  }
  return config;
}

// glibc version of this process, or null on musl and non-Linux systems.
function glibcVersion() {
  if (process.platform !== 'linux') return null;
  try {
    const header = process.report.getReport().header;
    return header.glibcVersionRuntime || null;
  } catch (_) {
    return null;
  }
}

function versionLess(a, b) {
  const pa = String(a).split('.').map(Number);
  const pb = String(b).split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const x = pa[i] || 0;
    const y = pb[i] || 0;
    if (x !== y) return x < y;
  }
  return false;
}

// The bin/ sub-folders to try, best first.
function candidateDirs(platform, arch, glibc, glibcMin) {
  const base = `${platform}-${arch}`;
  if (platform !== 'linux') return [base];
  const musl = `${base}-musl`;
  if (glibc === null) return [musl, base];
  if (glibcMin && versionLess(glibc, glibcMin)) return [musl, base];
  return [base, musl];
}

function main() {
  const dir = __dirname;
  let config;
  try {
    config = readConfig(dir);
  } catch (err) {
    fail(err.message);
    return;
  }
  const exe = process.platform === 'win32' ? `${config.binary}.exe` : config.binary;
  const dirs = candidateDirs(process.platform, process.arch, glibcVersion(), config.glibcMin);
  const tried = dirs.map((d) => path.join(dir, 'bin', d, exe));
  const binary = tried.find((p) => fs.existsSync(p));
  if (!binary) {
    fail(
      `This task has no ${config.binary} binary for platform ${process.platform}, architecture ${process.arch} ` +
        `(looked for ${tried.join(', ')}). Use an agent on a supported platform.`,
    );
    return;
  }

  const posix = process.platform !== 'win32';
  if (posix) {
    // The .vsix loses execute bits: restore them.
    try {
      fs.accessSync(binary, fs.constants.X_OK);
    } catch (_) {
      try {
        fs.chmodSync(binary, 0o755);
      } catch (err) {
        fail(`amlops launcher: cannot make ${binary} executable: ${err.message}`);
        return;
      }
    }
  }

  // The agent signals only this process (on Linux/macOS): pass cancellation on and wait for the binary.
  // On Windows the binary already receives CTRL_C/CTRL_BREAK from the console; child.kill() would
  // terminate it at once, so the launcher only keeps itself alive. The handlers are in place before
  // the binary starts: the binary runs in parallel from the moment it is spawned, and a signal that
  // reached this process before its handler would end it by default and leave the binary running
  // with nobody to pass the cancellation on (seen in a test on a loaded machine).
  let child = null;
  const forward = (sig) => {
    if (posix && child && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill(sig);
      } catch (_) {
        // The child is already gone; its exit event follows.
      }
    }
  };
  const signals = posix ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGBREAK'];
  for (const sig of signals) {
    process.on(sig, () => forward(sig));
  }

  child = childProcess.spawn(binary, process.argv.slice(2), {
    stdio: 'inherit',
    env: process.env,
    windowsHide: true,
  });

  child.on('error', (err) => {
    fail(`amlops launcher: cannot start ${binary}: ${err.message}`);
    process.exit(1);
  });

  child.on('exit', (code, signal) => {
    if (code !== null) {
      process.exit(code);
    }
    const number = (signal && os.constants.signals[signal]) || 0;
    if (signal) {
      logError(`${config.binary} was terminated by ${signal}`);
    }
    process.exit(128 + number);
  });
}

module.exports = { candidateDirs, versionLess };

if (require.main === module) {
  main();
}
