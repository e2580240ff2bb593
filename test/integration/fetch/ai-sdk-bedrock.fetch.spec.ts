import { aiSdkBedrockDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(aiSdkBedrockDriver);
