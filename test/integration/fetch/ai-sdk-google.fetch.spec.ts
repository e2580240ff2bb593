import { aiSdkGoogleDriver } from './clients';
import { clientSuite } from './client-suite';

clientSuite(aiSdkGoogleDriver);
