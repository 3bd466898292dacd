/**
 * S3 errors: the error codes and HTTP statuses S3 answers with (clients branch on both), and the mapping from our
 * own TcErrors (storage TC2xx) to them. The XML body is rendered by ./xml.ts.
 */
import { isTcError } from '../../../kernel/errors.js';
import { StorageCode } from '../codes.js';

const STATUS = {
  AccessDenied: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  EntityTooLarge: 400,
  EntityTooSmall: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidBucketName: 400,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  KeyTooLongError: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NoSuchUpload: 404,
  NotImplemented: 501,
  OperationAborted: 409,
  RequestTimeTooSkewed: 403,
  ServiceUnavailable: 503,
  SignatureDoesNotMatch: 403,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3ErrorCode = keyof typeof STATUS;

export class S3Error extends Error {
  readonly status: number;
  constructor(
    readonly code: S3ErrorCode,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

/** Any failure of a request as the S3 error to answer with (never a stack trace). */
export function toS3Error(e: unknown, key?: string): S3Error {
  if (e instanceof S3Error) return e;
  if (isTcError(e)) {
    const extra: Record<string, string> = key === undefined ? {} : { Key: key };
    switch (e.code) {
      case StorageCode.notFound:
        return new S3Error('NoSuchKey', 'The specified key does not exist.', extra);
      case StorageCode.noQuorum:
      case StorageCode.integrity:
        return new S3Error('ServiceUnavailable', `not enough clouds answered: ${e.message}`, extra);
      case StorageCode.locked:
        return new S3Error('OperationAborted', `another gateway is writing this key: ${e.message}`, extra);
      case StorageCode.badName:
        return new S3Error('KeyTooLongError', e.message, extra);
      case StorageCode.tooLarge:
        return new S3Error('EntityTooLarge', e.message, extra);
      case StorageCode.wrongKey:
        return new S3Error('AccessDenied', e.message, extra);
      default:
        return new S3Error('InternalError', `${e.code} ${e.message}`, extra);
    }
  }
  return new S3Error('InternalError', 'We encountered an internal error. Please try again.');
}
