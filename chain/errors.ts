/** @module Typed errors shared by every part of CamelidCoin: each carries a stable `code`. */

/** Base class of every CamelidCoin error: a machine-readable `code` plus a clear message. */
export class CamelidError extends Error {
  /** Stable, machine-readable error code such as `"decode/trailing-bytes"`. */
  readonly code: string;
  /** Creates an error with a `code` and a human-readable `message`. */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * A {@link CamelidError} whose `code` is one of a closed union `C`: a part declares its codes as a
 * type and its error as `class XError extends CodedError<XCode> {}`.
 */
export class CodedError<C extends string> extends CamelidError {
  /** What went wrong, one of the part's codes. */
  declare readonly code: C;
  /** Creates an error with one of the part's codes and a human-readable `message`. */
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** Raised by strict binary decoders: truncated, oversized, non-minimal or trailing input. */
export class DecodeError extends CamelidError {}

/** Raised when an object is well formed but breaks a consensus or policy rule. */
export class ValidationError extends CamelidError {}

/** Raised when a requested object (block, tx, address, file) does not exist. */
export class NotFoundError extends CamelidError {}
