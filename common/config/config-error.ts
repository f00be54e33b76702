/** A configuration value is missing or wrong; the message names it and where it came from. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
