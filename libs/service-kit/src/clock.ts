import { Injectable } from '@nestjs/common';

/** The time, behind a class so code that decides by it can be given another. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
