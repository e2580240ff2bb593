import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { DemoUpstreamService } from './demo-upstream.service';

@Module({
  imports: [ConfigModule],
  providers: [DemoUpstreamService],
  exports: [DemoUpstreamService],
})
export class DemoModule {}
