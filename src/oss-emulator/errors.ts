// OSS error responses: a status, a Code and a Message, plus optional extra elements
// (Key, Header, StringToSign, ...) rendered into OSS's <Error> document.
import { renderXml } from './xml';

export class OssError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'OssError';
  }
}

export function errorXml(err: OssError, requestId: string, hostId: string): string {
  const body = renderXml({ Code: err.code, Message: err.message, RequestId: requestId, HostId: hostId, ...err.extra });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${body}</Error>\n`;
}

// Canonical messages as OSS words them, so clients see familiar text.
export const Errors = {
  accessDenied: (msg = 'AccessDenied: the request carries no valid signature (anonymous access is forbidden).') =>
    new OssError(403, 'AccessDenied', msg),
  invalidAccessKeyId: (id: string) =>
    new OssError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.', { OSSAccessKeyId: id }),
  signatureDoesNotMatch: (stringToSign: string, provided: string, id: string) =>
    new OssError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', {
      StringToSign: stringToSign,
      StringToSignBytes: Buffer.from(stringToSign, 'utf8').toString('hex').replace(/(..)(?!$)/g, '$1 ').toUpperCase(),
      SignatureProvided: provided,
      OSSAccessKeyId: id,
    }),
  invalidArgument: (msg: string, name?: string, value?: string) =>
    new OssError(400, 'InvalidArgument', msg, name !== undefined ? { ArgumentName: name, ArgumentValue: value ?? '' } : {}),
  noSuchBucket: (bucket: string) => new OssError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket }),
  noSuchKey: (key: string) => new OssError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key }),
  noSuchUpload: (uploadId: string) =>
    new OssError(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: uploadId }),
  invalidObjectName: (why: string) => new OssError(400, 'InvalidObjectName', `The specified object is not valid: ${why}.`),
  malformedXml: (why: string) => new OssError(400, 'MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: ${why}.`),
  invalidDigest: () => new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.'),
  badDigest: () => new OssError(400, 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.'),
  entityTooLarge: () => new OssError(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.'),
  entityTooSmall: (part: number) => new OssError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', { PartNumber: String(part), MinSizeAllowed: '102400' }),
  invalidPart: (part: number) =>
    new OssError(400, 'InvalidPart', 'One or more of the specified parts could not be found or the specified entity tag might not have matched the part\'s entity tag.', { PartNumber: String(part) }),
  invalidPartOrder: () => new OssError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts list must be specified in order by part number.'),
  invalidRange: (size: number) => new OssError(416, 'InvalidRange', 'The requested range cannot be satisfied.', { ActualObjectSize: String(size) }),
  preconditionFailed: (condition: string) => new OssError(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold.', { Condition: condition }),
  positionNotEqualToLength: (next: number) =>
    new OssError(409, 'PositionNotEqualToLength', 'Position is not equal to file length.', {}, { 'x-oss-next-append-position': String(next) }),
  objectNotAppendable: () => new OssError(409, 'ObjectNotAppendable', 'The object is not appendable.'),
  fileAlreadyExists: () => new OssError(409, 'FileAlreadyExists', 'The object you specified already exists and can not be overwritten.'),
  missingContentLength: () => new OssError(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.'),
  notImplemented: (what: string) => new OssError(501, 'NotImplemented', `A header or operation you provided implies functionality that is not implemented: ${what}.`),
  methodNotAllowed: (method: string) => new OssError(405, 'MethodNotAllowed', `The specified method is not allowed against this resource: ${method}.`),
  requestExpired: () => new OssError(403, 'AccessDenied', 'Request has expired.'),
  internal: () => new OssError(500, 'InternalError', 'We encountered an internal error. Please try again.'),
  unavailable: () => new OssError(503, 'ServiceUnavailable', 'Please reduce your request rate.', {}, { 'x-oss-qos-delay-time': '100' }),
  incompleteBody: () => new OssError(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.'),
  bucketAlreadyExists: (bucket: string) => new OssError(409, 'BucketAlreadyExists', 'The requested bucket name is not available.', { BucketName: bucket }),
};
