import { randomBytes, randomInt } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

// The shape of Go's crypto/rand.Text(): 26 upper-case base32 characters.
export function generateId(): string {
  return Array.from(randomBytes(26), (byte) => BASE32[byte & 31]).join('');
}

// The shape of Go's os.CreateTemp names: the pattern's `*` replaced by a random decimal number.
export function generateTempName(prefix: string, suffix: string): string {
  return `${prefix}${randomInt(1, 2 ** 32)}${suffix}`;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

// Go's time.RFC3339Nano in local time: trailing zeros of the fraction are dropped and a zero
// offset is written `Z`. Node clocks stop at milliseconds, so that is the finest precision here.
export function formatTimestamp(date: Date = new Date()): string {
  const fraction = pad(date.getMilliseconds(), 3).replace(/0+$/, '');
  const offsetMinutes = -date.getTimezoneOffset();
  const offset = Math.abs(offsetMinutes);
  const zone =
    offsetMinutes === 0
      ? 'Z'
      : `${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`;
  const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  return `${day}T${time}${fraction ? `.${fraction}` : ''}${zone}`;
}
