import type { RequestProblem } from '../common/request.js';

/** The request was refused before anything started; `problems` names each bad field. */
export class InvalidCloneRequestError extends Error {
  override readonly name = 'InvalidCloneRequestError';
  readonly type = 'InvalidRequest';

  constructor(
    readonly problems: RequestProblem[],
    message: string
  ) {
    super(message);
  }
}

/** The clone ran and failed; `type` is one of FailureType, stable across versions. */
export class CloneFailedError extends Error {
  override readonly name = 'CloneFailedError';

  constructor(
    readonly type: string,
    message: string,
    readonly workflowId: string,
    readonly details: unknown[] = []
  ) {
    super(message);
  }
}

/** The clone was cancelled (for example because its pod was deleted). */
export class CloneCancelledError extends Error {
  override readonly name = 'CloneCancelledError';

  constructor(readonly workflowId: string) {
    super(`clone ${workflowId} was cancelled`);
  }
}

/** The Temporal server could not be reached or refused the connection. */
export class TemporalUnavailableError extends Error {
  override readonly name = 'TemporalUnavailableError';

  constructor(
    readonly address: string,
    reason: string
  ) {
    super(`cannot reach Temporal at ${address}: ${reason}`);
  }
}

/**
 * Temporal was reached but refused the credentials: the API key, or the identity in the client
 * certificate, is wrong or may not use the namespace. `code` is the gRPC status name.
 */
export class TemporalAuthError extends Error {
  override readonly name = 'TemporalAuthError';

  constructor(
    readonly address: string,
    readonly code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED',
    reason: string
  ) {
    super(
      `Temporal at ${address} refused the authentication (${code}: ${reason}); check the API key (TEMPORAL_API_KEY or --api-key) and the client certificate`
    );
  }
}

/**
 * The namespace lacks the clone search attributes, so Temporal refused the start. Running
 * `cocoon-flow setup` against it (once per namespace) adds them.
 */
export class SearchAttributesMissingError extends Error {
  override readonly name = 'SearchAttributesMissingError';

  constructor(readonly missing: string[]) {
    super(
      `the Temporal namespace has no search attributes ${missing.join(', ')}; run cocoon-flow setup against it once, then start the clone again`
    );
  }
}
