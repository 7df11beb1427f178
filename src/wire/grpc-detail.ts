// What a grpc-js error says, for a log line: its details, without the empty
// "Resolution note: " grpc-js ends some of them with.

import type { ServiceError } from '@grpc/grpc-js';

export function grpcDetail(err: ServiceError): string {
  return (err.details || err.message).replace(/\s*Resolution note:\s*$/, '');
}
