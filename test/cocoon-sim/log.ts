// Log lines in the shape of zerolog's ConsoleWriter as cocoon configures it:
// `03 Dec 26 16:37 +0000 INF <message> func=<pkg.func>`, always on stderr.

type Level = 'DBG' | 'INF' | 'WRN' | 'ERR';

// zerolog's console colours per level; DBG is left uncoloured as zerolog does.
const LEVEL_COLOURS: Record<Level, string> = {
  DBG: '',
  INF: '\x1b[32m',
  WRN: '\x1b[33m',
  ERR: '\x1b[31m',
};

const RESET = '\x1b[0m';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(value: number): string {
  return String(value).padStart(2, '0');
}

// Go's RFC822Z layout `02 Jan 06 15:04 -0700`, in local time.
function formatLogTime(date: Date): string {
  const offsetMinutes = -date.getTimezoneOffset();
  const sign = offsetMinutes < 0 ? '-' : '+';
  const offset = Math.abs(offsetMinutes);
  const zone = `${sign}${pad2(Math.floor(offset / 60))}${pad2(offset % 60)}`;
  const month = MONTHS[date.getMonth()];
  const day = `${pad2(date.getDate())} ${month} ${pad2(date.getFullYear() % 100)}`;
  const time = `${pad2(date.getHours())}:${pad2(date.getMinutes())}`;
  return `${day} ${time} ${zone}`;
}

function colourLevel(level: Level): string {
  const colour = LEVEL_COLOURS[level];
  if (process.env.NO_COLOR || !colour) {
    return level;
  }
  return `${colour}${level}${RESET}`;
}

function writeLine(level: Level, func: string, message: string): void {
  process.stderr.write(
    `${formatLogTime(new Date())} ${colourLevel(level)} ${message} func=${func}\n`
  );
}

export function logInfo(func: string, message: string): void {
  writeLine('INF', func, message);
}

export function logWarn(func: string, message: string): void {
  writeLine('WRN', func, message);
}

export function logError(func: string, message: string): void {
  writeLine('ERR', func, message);
}

// Cobra's failure line; it is never coloured.
export function printErrorLine(message: string): void {
  process.stderr.write(`Error: ${message}\n`);
}
