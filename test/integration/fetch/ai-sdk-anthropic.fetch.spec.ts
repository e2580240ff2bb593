import { aiSdkAnthropicDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(aiSdkAnthropicDriver);
