import { aiSdkOpenaiDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(aiSdkOpenaiDriver);
