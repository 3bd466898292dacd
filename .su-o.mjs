export * from '@oclif/core';
