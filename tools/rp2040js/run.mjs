#!/usr/bin/env node
// Runs an RP2040 firmware image on the rp2040js emulator, for mpssl's test runner
// (tools/mpssl_hil/emulators/rp2040js.py). The board's USB CDC serial port is this process's stdin/stdout:
// bytes read from stdin go to the board, bytes the board sends come out on stdout. The Python side
// bridges them to a pseudo-terminal that mpremote opens. Status lines go to stderr; once the USB
// serial port is configured, one line "READY" is printed there.
//
// Usage: node run.mjs --bootrom <b1.bin> --firmware <image.uf2|.bin|.hex> [--boot-timeout <s>]
//   --bootrom defaults to $MPSSL_RP2040_BOOTROM.
//
// What this adds to the emulator (each is a gap of rp2040js 1.4.1, see README.md):
//  - flash erase/program: the bootrom's flash_range_erase / flash_range_program are served here
//    (the emulator has no flash command set), so the firmware's littlefs works;
//  - USB OUT reads are held until the host sends data (the emulator answers them with empty packets
//    at once, an interrupt storm that starves the firmware);
//  - idle time (WFI/WFE) passes in real time, not instantly, so device timeouts mean what they say;
//  - the UART TX interrupt is raised when a byte is sent, not on every register access.

import fs from 'node:fs';
import process from 'node:process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCommandLine } from 'node:util';
import { RP2040, USBCDC, ConsoleLogger, LogLevel } from 'rp2040js';

export const USAGE = 'usage: run.mjs --bootrom <file> --firmware <file.uf2|.bin|.hex> [--boot-timeout <seconds>]';
const FLASH_BASE = 0x10000000;
const BOOTROM_SIZE = 16 * 1024;
const CYCLE_NANOS = 8; // 125 MHz
const UF2_MAGIC = [0x0a324655, 0x9e5d5157, 0x0ab16f30];

const OPTIONS = {
  bootrom: { type: 'string' },
  firmware: { type: 'string' },
  'boot-timeout': { type: 'string', default: '120' },
  help: { type: 'boolean', short: 'h' },
};

/** Parses argv (without node and the script) and the environment; throws Error with a one-line reason. */
export function parseArgs(argv, env = process.env) {
  let values;
  try {
    // strict: an unknown option, a missing value or a positional argument is an error
    ({ values } = parseCommandLine({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (e) {
    if (!String(e.code).startsWith('ERR_PARSE_ARGS_')) throw e;
    throw new Error(`${e.message.split('\n')[0]}; ${USAGE}`);
  }
  if (values.help) throw new Error(USAGE);
  const options = {
    bootrom: values.bootrom || env.MPSSL_RP2040_BOOTROM || '',
    firmware: values.firmware || '',
    bootTimeout: Number(values['boot-timeout']),
  };
  if (!(options.bootTimeout > 0)) throw new Error('--boot-timeout must be a positive number of seconds');
  if (!options.bootrom) {
    throw new Error('no RP2040 bootrom: pass --bootrom or set MPSSL_RP2040_BOOTROM');
  }
  if (!options.firmware) throw new Error(`no --firmware; ${USAGE}`);
  return options;
}

/** The bootrom image as 32-bit words; throws when it is not a 16 KiB RP2040 bootrom. */
export function readBootrom(path) {
  if (!fs.existsSync(path)) throw new Error(`no RP2040 bootrom at ${path}`);
  const data = fs.readFileSync(path);
  if (data.length !== BOOTROM_SIZE) {
    throw new Error(`${path} is ${data.length} bytes; an RP2040 bootrom image is ${BOOTROM_SIZE}`);
  }
  if (data[0x10] !== 0x4d || data[0x11] !== 0x75 || data[0x12] !== 0x01) {
    throw new Error(`${path} is not an RP2040 bootrom (no 'Mu' magic at 0x10)`);
  }
  return new Uint32Array(data.buffer, data.byteOffset, data.length / 4);
}

/** Writes a firmware image (.uf2, .hex, or a raw .bin at the start of flash) into `flash`. */
export function loadFirmware(path, flash) {
  if (!fs.existsSync(path)) throw new Error(`no firmware image at ${path}`);
  const data = fs.readFileSync(path);
  const place = (address, bytes) => {
    const offset = address - FLASH_BASE;
    if (offset < 0 || offset + bytes.length > flash.length) {
      throw new Error(`${path}: data at 0x${address.toString(16)} is outside flash`);
    }
    flash.set(bytes, offset);
  };
  if (path.endsWith('.uf2')) {
    if (data.length % 512) throw new Error(`${path}: a UF2 file is a sequence of 512-byte blocks`);
    for (let block = 0; block < data.length; block += 512) {
      const word = (i) => data.readUInt32LE(block + 4 * i);
      if (word(0) !== UF2_MAGIC[0] || word(1) !== UF2_MAGIC[1] || data.readUInt32LE(block + 508) !== UF2_MAGIC[2]) {
        throw new Error(`${path}: bad UF2 block at offset ${block}`);
      }
      const size = word(4);
      if (size > 476) throw new Error(`${path}: UF2 block at offset ${block} has ${size} bytes of payload`);
      place(word(3), data.subarray(block + 32, block + 32 + size));
    }
  } else if (path.endsWith('.hex')) {
    let base = 0;
    for (const line of data.toString('latin1').split(/\r?\n/)) {
      if (!line.startsWith(':')) continue;
      const bytes = Buffer.from(line.slice(1), 'hex');
      const [count, hi, lo, type] = bytes;
      const payload = bytes.subarray(4, 4 + count);
      if (type === 0x00) place(base + ((hi << 8) | lo), payload);
      else if (type === 0x04) base = payload.readUInt16BE(0) << 16;
      else if (type === 0x02) base = payload.readUInt16BE(0) << 4;
      else if (type === 0x01) break;
    }
  } else {
    place(FLASH_BASE, data);
  }
}

/** Address of the bootrom function with the two-letter `code`, from the ROM's function table. */
export function romFunction(bootrom, code) {
  const bytes = new Uint8Array(bootrom.buffer, bootrom.byteOffset, bootrom.byteLength);
  const half = (address) => bytes[address] | (bytes[address + 1] << 8);
  const wanted = code.charCodeAt(0) | (code.charCodeAt(1) << 8);
  for (let entry = half(0x14); entry + 4 <= bytes.length; entry += 4) {
    const found = half(entry);
    if (found === 0) break;
    if (found === wanted) return half(entry + 2) & ~1;
  }
  throw new Error(`the bootrom has no ${code} function`);
}

/** Serves flash_range_erase ('RE') and flash_range_program ('RP') in place of the ROM code. */
function flashHooks(mcu) {
  const { core, flash } = mcu;
  const inFlash = (offset, count) => offset >= 0 && count >= 0 && offset + count <= flash.length;
  const hooks = new Map();
  hooks.set(romFunction(mcu.bootrom, 'RE'), () => {
    const [offset, count] = [core.registers[0] >>> 0, core.registers[1] >>> 0];
    if (inFlash(offset, count)) flash.fill(0xff, offset, offset + count);
  });
  hooks.set(romFunction(mcu.bootrom, 'RP'), () => {
    const [offset, source, count] = [core.registers[0] >>> 0, core.registers[1] >>> 0, core.registers[2] >>> 0];
    if (!inFlash(offset, count)) return;
    for (let i = 0; i < count; i++) flash[offset + i] &= mcu.readUint8(source + i); // NOR: program clears bits
  });
  return hooks;
}

/** The UART raises its TX interrupt once per byte sent (1.4.1 re-raises it on every check). */
function fixUartTxInterrupt(uart) {
  const TX = 1 << 5;
  const UARTDR = 0x000;
  uart.checkInterrupts = function checkInterrupts() {
    this.rp2040.setInterrupt(this.irq, !!(this.interruptStatus & this.interruptMask));
  };
  const write = uart.writeUint32.bind(uart);
  uart.writeUint32 = (offset, value) => {
    write(offset, value);
    if (offset === UARTDR) {
      uart.interruptStatus |= TX;
      uart.checkInterrupts();
    }
  };
}

/** The USB CDC serial port, with OUT reads held until the host has data. */
function serialPort(mcu, output) {
  const cdc = new USBCDC(mcu.usbCtrl);
  const queue = [];
  let pending = null; // size of a held OUT read
  const serve = () => {
    if (pending === null || !queue.length || cdc.outEndpoint < 0) return false;
    let chunk = queue[0];
    if (chunk.length > pending) {
      queue[0] = chunk.subarray(pending);
      chunk = chunk.subarray(0, pending);
    } else {
      queue.shift();
    }
    pending = null;
    mcu.usbCtrl.endpointReadDone(cdc.outEndpoint, new Uint8Array(chunk));
    return true;
  };
  mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
    if (endpoint !== cdc.outEndpoint) return; // as USBCDC does: control OUT stages need no answer
    pending = size;
    serve();
  };
  cdc.onSerialData = (buffer) => output(Buffer.from(buffer));
  return {
    cdc,
    /** Queue host bytes; true when a held read was answered (the board has work to do). */
    send(data) {
      if (data.length) queue.push(data);
      return serve();
    },
  };
}

export function main(argv = process.argv.slice(2)) {
  let options;
  let mcu;
  try {
    options = parseArgs(argv);
    const bootrom = readBootrom(options.bootrom);
    mcu = new RP2040();
    mcu.logger = new ConsoleLogger(LogLevel.Error);
    mcu.loadBootrom(bootrom);
    loadFirmware(options.firmware, mcu.flash);
  } catch (e) {
    process.stderr.write(`rp2040js: ${e.message}\n`);
    process.exit(2);
  }
  const hooks = flashHooks(mcu);
  // Start at the flash's second-stage loader, as rp2040js's own demo does: the bootrom's reset path
  // reads the chip-reset register, which the emulator does not implement, and halts.
  mcu.core.PC = FLASH_BASE;
  for (const uart of mcu.uart) fixUartTxInterrupt(uart);
  const { core, clock } = mcu;
  const port = serialPort(mcu, (data) => process.stdout.write(data));

  let wake = null; // resolves an idle wait early
  let ready = false;
  port.cdc.onDeviceConnected = () => {
    ready = true;
    process.stderr.write('READY\n');
  };
  const bootTimer = setTimeout(() => {
    if (!ready) {
      process.stderr.write(`rp2040js: the firmware did not bring up its USB serial port within ${options.bootTimeout}s\n`);
      process.exit(3);
    }
  }, options.bootTimeout * 1000);
  bootTimer.unref();

  if (process.env.MPSSL_RP2040JS_DEBUG) {
    setInterval(() => {
      process.stderr.write(`rp2040js: PC=0x${core.PC.toString(16)} LR=0x${core.LR.toString(16)} waiting=${core.waiting} ` +
        `board time ${(clock.nanos / 1e9).toFixed(3)}s\n`);
    }, 1000).unref();
  }

  process.stdin.on('data', (data) => {
    port.send(data);
    if (wake) wake();
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdout.on('error', () => process.exit(0));

  const sleep = (ms) => new Promise((resolve) => {
    const timer = setTimeout(() => { wake = null; resolve(); }, ms);
    wake = () => { clearTimeout(timer); wake = null; resolve(); };
  });

  const run = async () => {
    for (;;) {
      const sliceEnd = performance.now() + 20;
      while (!core.waiting && performance.now() < sliceEnd) {
        for (let i = 0; i < 20000 && !core.waiting; i++) {
          const hook = hooks.get(core.PC);
          if (hook) {
            hook();
            core.PC = core.LR & ~1;
            clock.tick(1000);
            continue;
          }
          clock.tick(core.executeInstruction() * CYCLE_NANOS);
        }
      }
      if (core.waiting) {
        // Idle: let the board's time pass in real time until its next alarm or host data.
        const toAlarm = clock.nextAlarm ? clock.nanosToNextAlarm : Infinity;
        const started = performance.now();
        if (toAlarm > 0) await sleep(Math.min(toAlarm / 1e6, 50));
        const elapsed = (performance.now() - started) * 1e6;
        clock.tick(Math.max(0, Math.min(elapsed, toAlarm)));
      } else {
        await new Promise((resolve) => setImmediate(resolve)); // let stdin events in
      }
    }
  };
  run().catch((e) => {
    process.stderr.write(`rp2040js: ${e.stack || e}\n`);
    process.exit(1);
  });
}

function invokedAsScript() {
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false; // imported (e.g. by tests/host/test_rp2040js.py), or run with -e
  }
}

if (invokedAsScript()) {
  main();
}
