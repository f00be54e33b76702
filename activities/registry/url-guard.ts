import { FailureType } from '../../common/failures.js';
import { isPullableUrl } from '../../common/request.js';
import { failure } from '../to-failure.js';
import { isAllowedUrl } from './allow-list.js';

/**
 * Refuses, before cocoon is asked anything, a URL that is not http(s) or lies outside the
 * registries this worker may download from. `what` says which step asked, for the message.
 */
export function ensureAllowed(url: string, registries: readonly string[], what: string): void {
  if (!isPullableUrl(url)) {
    throw failure(
      FailureType.InvalidRequest,
      `${what}: ${JSON.stringify(url)} is not an http(s) URL`
    );
  }
  if (!isAllowedUrl(url, registries)) {
    throw failure(
      FailureType.RegistryNotAllowed,
      `${what}: the URL is outside the registries this worker may download from (${registries.join(', ') || 'none configured'}); add its prefix to the worker's registries`
    );
  }
}
